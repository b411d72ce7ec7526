"""Orders and tree heads: one reading per signed document, and no stale view of the log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from audithelp import NOW, Control, policy_text

from sealog.audit import OrderBundle, SignedTreeHead, SigningKey, check_order
from sealog.audit._policy import parse_control_policy
from sealog.errors import FormatError, PolicyError


def _duplicate_first_key(text: str) -> str:
    """``{"a": 1, ...}`` -> ``{"a": 1, "a": 1, ...}``: the same value, so the same signatures."""
    assert text.startswith("{")
    depth = 0
    for i, ch in enumerate(text):
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 1:
            first = text[1:i]
            return "{" + first + "," + first + text[i:]
    raise AssertionError("no second key")


def test_order_bundle_with_a_duplicate_json_key_is_refused(control: Control) -> None:
    order = control.order().sign(control.alice).sign(control.bob)
    bundle = OrderBundle(order, control.logged(order))
    text = bundle.to_json()
    assert OrderBundle.from_json(text) == bundle
    with pytest.raises(FormatError, match="duplicate key"):
        OrderBundle.from_json(_duplicate_first_key(text))


def test_tree_head_with_a_duplicate_json_key_is_refused(control: Control) -> None:
    order = control.order().sign(control.alice)
    text = control.logged(order).tree_head.to_json()
    with pytest.raises(FormatError, match="duplicate key"):
        SignedTreeHead.from_json(_duplicate_first_key(text))


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": 1e999}', "[" * 100_000 + "]" * 100_000])
def test_order_json_with_non_numbers_or_deep_nesting_is_bad_input(text: str) -> None:
    with pytest.raises(FormatError):
        OrderBundle.from_json(text)


def test_order_under_a_tree_head_older_than_the_last_seen_is_refused(control: Control) -> None:
    """The host withholds the newer log view and replays an order proven under an older one."""
    first = control.order().sign(control.alice).sign(control.bob)
    old_inclusion = control.logged(first)
    second = control.order(reason="later").sign(control.alice).sign(control.bob)
    new_inclusion = control.logged(second)
    now = NOW + timedelta(minutes=1)
    check_order(
        second, control.policy, keep_id="keep-1", now=now, seen_nonces=(), inclusion=new_inclusion
    )
    with pytest.raises(PolicyError, match="older than the one of size 2"):
        check_order(
            first,
            control.policy,
            keep_id="keep-1",
            now=now,
            seen_nonces=(),
            inclusion=old_inclusion,
            last_tree_head=new_inclusion.tree_head,
        )


def test_order_under_a_tree_head_older_than_the_policy_allows_is_refused(
    control: Control, keys: dict[str, SigningKey]
) -> None:
    text = policy_text(
        keys["log"], {"alice": keys["alice"], "bob": keys["bob"]}, {"incident": (2, "2h")}
    )
    policy = parse_control_policy("max_tree_head_age = '10m'\n" + text)
    assert policy.max_tree_head_age == timedelta(minutes=10)
    order = control.order().sign(control.alice).sign(control.bob)
    inclusion = control.logged(order)  # the log signs its head at NOW
    fresh = NOW + timedelta(minutes=5)
    check_order(order, policy, keep_id="keep-1", now=fresh, seen_nonces=(), inclusion=inclusion)
    with pytest.raises(PolicyError, match="older than the 10m the control policy allows"):
        check_order(
            order,
            policy,
            keep_id="keep-1",
            now=NOW + timedelta(minutes=30),
            seen_nonces=(),
            inclusion=inclusion,
        )
