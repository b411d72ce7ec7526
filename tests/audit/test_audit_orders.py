"""Change orders: what an approver, the host or an attacker does, and what check_order says."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from audithelp import NOW, Control
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.audit import (
    AuditLog,
    ChangeOrder,
    OrderApproval,
    OrderBundle,
    OrderInclusion,
    OrderSignature,
    SignedTreeHead,
    check_order,
    order_digest,
)
from sealog.errors import FormatError, PolicyError


@dataclass
class Case:
    """One delivery of an order to Keep ``keep-1``, as check_order will see it."""

    order: ChangeOrder
    inclusion: OrderInclusion
    now: datetime = NOW + timedelta(minutes=5)
    keep_id: str = "keep-1"
    seen_nonces: set[str] = field(default_factory=set)


def _check(c: Control, case: Case) -> OrderApproval:
    return check_order(
        case.order,
        c.policy,
        keep_id=case.keep_id,
        now=case.now,
        seen_nonces=case.seen_nonces,
        inclusion=case.inclusion,
    )


def _signed_and_logged(c: Control, order: ChangeOrder | None = None) -> Case:
    signed = (order or c.order()).sign(c.alice).sign(c.bob)
    return Case(signed, c.logged(signed))


# -- the attacks, one row each ----------------------------------------------------------------


def signed_by_one_of_two_required(c: Control) -> Case:
    signed = c.order().sign(c.alice)
    return Case(signed, c.logged(signed))


def same_approver_signs_twice(c: Control) -> Case:
    once = c.order().sign(c.alice)
    twice = replace(once, signatures=once.signatures * 2)
    return Case(twice, c.logged(twice))


def approver_not_in_the_policy(c: Control, keys: dict[str, Any]) -> Case:
    signed = c.order().sign(c.alice).sign(keys["mallory"])
    return Case(signed, c.logged(signed))


def expired(c: Control) -> Case:
    case = _signed_and_logged(c)
    case.now = NOW + timedelta(hours=1)  # not_after is exclusive
    return case


def not_yet_valid(c: Control) -> Case:
    case = _signed_and_logged(c)
    case.now = NOW - timedelta(seconds=1)
    return case


def window_too_long(c: Control) -> Case:
    return _signed_and_logged(c, c.order(duration=timedelta(hours=2, seconds=1)))


def replayed_nonce(c: Control) -> Case:
    case = _signed_and_logged(c)
    case.seen_nonces = {case.order.nonce}
    return case


def order_for_another_keep(c: Control) -> Case:
    return _signed_and_logged(c, c.order(keep="keep-2"))


def target_not_in_the_policy(c: Control) -> Case:
    return _signed_and_logged(c, c.order(profile="development"))


def order_missing_from_the_audit_log(c: Control) -> Case:
    """The host delivers a signed order with a real proof and head, but of another entry."""
    decoy = c.order().sign(c.alice).sign(c.bob)
    inclusion = c.logged(decoy)
    signed = c.order().sign(c.alice).sign(c.bob)  # another nonce: never logged
    return Case(signed, inclusion)


def signatures_stripped_after_logging(c: Control) -> Case:
    """The log holds the order with three signatures; the delivered copy has two."""
    logged = c.order().sign(c.alice).sign(c.bob).sign(c.carol)
    inclusion = c.logged(logged)
    return Case(replace(logged, signatures=logged.signatures[:2]), inclusion)


def tree_head_signed_by_the_wrong_key(c: Control, keys: dict[str, Any]) -> Case:
    case = _signed_and_logged(c)
    sth = case.inclusion.tree_head
    forged = SignedTreeHead.sign(keys["mallory"], sth.size, sth.root_hash, sth.timestamp)
    case.inclusion = replace(case.inclusion, tree_head=forged)
    return case


def tree_head_from_another_log_with_the_wrong_key(c: Control, keys: dict[str, Any]) -> Case:
    """The host runs its own log (own key) and logs the order there."""
    signed = c.order().sign(c.alice).sign(c.bob)
    rogue = AuditLog.init(c.log.directory.parent / "rogue", keys["mallory"], clock=lambda: NOW)
    index, proof, sth = rogue.append(signed.entry_bytes())
    return Case(signed, OrderInclusion(index, tuple(proof), sth))


def tampered_order(c: Control) -> Case:
    """The body is changed after signing (and the changed order logged)."""
    signed = c.order(profile="testing").sign(c.alice).sign(c.bob)
    tampered = replace(signed, profile="incident", flight_recorder=True)
    return Case(tampered, c.logged(tampered))


def tampered_proof(c: Control) -> Case:
    for _ in range(4):
        c.log.append(b"other entry")
    case = _signed_and_logged(c)
    proof = list(case.inclusion.proof)
    proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
    case.inclusion = replace(case.inclusion, proof=tuple(proof))
    return case


ATTACKS: list[tuple[Callable[..., Case], str]] = [
    (target_not_in_the_policy, "targets profile 'development', which the control policy"),
    (signed_by_one_of_two_required, "signed by 1 of 2 required approvers"),
    (same_approver_signs_twice, "signed by 1 of 2 required approvers"),
    (approver_not_in_the_policy, "signed by 1 of 2 required approvers"),
    (tampered_order, "signature by approver 'alice' does not verify"),
    (expired, "expired at 2025-03-01T13:00:00Z (now 2025-03-01T13:00:00Z)"),
    (not_yet_valid, "not valid before 2025-03-01T12:00:00Z (now 2025-03-01T11:59:59Z)"),
    (window_too_long, "window is 7201s, longer than the 2h the control policy allows"),
    (replayed_nonce, "already used (replayed order)"),
    (order_for_another_keep, "for Keep 'keep-2', this is Keep 'keep-1'"),
    (tree_head_signed_by_the_wrong_key, "not signed by the policy's audit log key"),
    (tree_head_from_another_log_with_the_wrong_key, "not signed by the policy's audit log key"),
    (order_missing_from_the_audit_log, "not proven included in the audit log"),
    (signatures_stripped_after_logging, "not proven included in the audit log"),
    (tampered_proof, "not proven included in the audit log"),
]


@pytest.mark.parametrize(("attack", "message"), ATTACKS, ids=[a.__name__ for a, _ in ATTACKS])
def test_attack_is_refused(
    control: Control,
    keys: dict[str, Any],
    attack: Callable[..., Case],
    message: str,
) -> None:
    case = attack(control, keys) if "keys" in attack.__code__.co_varnames else attack(control)
    with pytest.raises(PolicyError) as info:
        _check(control, case)
    assert message in str(info.value)


def test_happy_path_two_of_three_approve_a_logged_order(control: Control) -> None:
    signed = control.order(flight_recorder=True).sign(control.bob).sign(control.carol)
    for _ in range(5):
        control.log.append(b"earlier entry")
    case = Case(signed, control.logged(signed))
    approval = _check(control, case)
    assert approval.target == "incident"
    assert approval.approvers == ("bob", "carol")
    assert approval.expires == NOW + timedelta(hours=1)
    assert approval.digest == order_digest(signed)
    assert approval.flight_recorder
    assert (approval.leaf_index, approval.tree_size) == (5, 6)


def test_order_for_all_keeps_applies_to_any_keep(control: Control) -> None:
    case = _signed_and_logged(control, control.order(keep="*"))
    case.keep_id = "keep-99"
    assert _check(control, case).keep == "*"


def test_order_stays_valid_under_a_later_tree_head(control: Control) -> None:
    """The Keep may receive a newer head and a fresh proof; the order is still included."""
    case = _signed_and_logged(control)
    for _ in range(6):
        control.log.append(b"later")
    proof = control.log.inclusion_proof(case.inclusion.leaf_index)
    later = OrderInclusion(case.inclusion.leaf_index, tuple(proof), control.log.tree_head())
    assert _check(control, Case(case.order, later)).tree_size == 7


def test_a_signature_by_an_unknown_key_does_not_block_a_quorum(
    control: Control, keys: dict[str, Any]
) -> None:
    signed = control.order().sign(keys["mallory"]).sign(control.alice).sign(control.bob)
    assert _check(control, Case(signed, control.logged(signed))).approvers == ("alice", "bob")


def test_naive_now_is_bad_input(control: Control) -> None:
    case = _signed_and_logged(control)
    case.now = datetime(2025, 3, 1, 12, 5)
    with pytest.raises(FormatError):
        _check(control, case)


# -- formats ----------------------------------------------------------------------------------


def test_order_file_round_trips_and_signing_does_not_change_the_digest(
    tmp_path: Path, control: Control
) -> None:
    order = control.order(reason="löschen: ü")
    path = tmp_path / "order.json"
    order.save(path)
    assert ChangeOrder.load(path) == order
    signed = order.sign(control.alice)
    assert order_digest(signed) == order_digest(order)
    assert signed.entry_bytes() != order.entry_bytes()
    assert ChangeOrder.from_entry_bytes(signed.entry_bytes()) == signed
    with pytest.raises(FormatError, match="already signed"):
        signed.sign(control.alice)


def test_entry_bytes_do_not_depend_on_signing_order(control: Control) -> None:
    order = control.order()
    ab = order.sign(control.alice).sign(control.bob)
    ba = order.sign(control.bob).sign(control.alice)
    assert ab.entry_bytes() == ba.entry_bytes()


def test_bundle_round_trips(tmp_path: Path, control: Control) -> None:
    case = _signed_and_logged(control)
    bundle = OrderBundle(case.order, case.inclusion)
    bundle.save(tmp_path / "bundle.json")
    assert OrderBundle.load(tmp_path / "bundle.json") == bundle


def _order_json(control: Control) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(control.order().sign(control.alice).to_json())
    return loaded


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("body", "keep"), "", "keep: expected a Keep id"),
        (("body", "keep"), 7, "body.keep: expected str, got int"),
        (("body", "profile"), "../etc", "profile: expected a profile name"),
        (("body", "not_before"), "2025-03-01 12:00:00", "expected a UTC time"),
        (("body", "not_after"), "2025-03-01T11:00:00Z", "must be later than"),
        (("body", "nonce"), "00", "nonce: expected 32 lowercase hex digits"),
        (("body", "reason"), " ", "reason: expected 1 to"),
        (("body", "flight_recorder"), "yes", "body.flight_recorder: expected bool"),
        (("body", "format"), "sealog-order/v9", "body.format"),
        (("body", "color"), "red", "unknown key body.color"),
        (("signatures",), "none", "order.signatures: expected list"),
        (("signatures", 0, "key_id"), "ALICE", "key id: expected 16 hex digits"),
        (("signatures", 0, "signature"), "AAAA", "signature is 3 bytes, expected 64"),
        (("signatures", 0, "signature"), "%%", "not valid base64"),
    ],
)
def test_malformed_order_file_is_bad_input(
    control: Control, path: tuple[Any, ...], value: object, message: str
) -> None:
    obj = _order_json(control)
    target = obj
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(FormatError, match=r"^order\.json: ") as info:
        ChangeOrder.from_json(json.dumps(obj), source="order.json")
    assert message in str(info.value)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300) | _JSON.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_input_never_escapes_as_anything_but_format_error(data: bytes) -> None:
    for parse in (ChangeOrder.from_json, OrderBundle.from_json, SignedTreeHead.from_json):
        with contextlib.suppress(FormatError):
            parse(data)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(
        [
            "keep",
            "profile",
            "not_before",
            "not_after",
            "nonce",
            "reason",
            "flight_recorder",
            "format",
        ]
    ),
    _JSON,
)
def test_any_wrong_body_value_is_format_error(key: str, value: object) -> None:
    order = ChangeOrder.create(
        keep="k",
        profile="incident",
        not_before=datetime(2025, 1, 1, tzinfo=UTC),
        duration=timedelta(hours=1),
        reason="r",
    )
    obj = json.loads(order.to_json())
    obj["body"][key] = value
    with contextlib.suppress(FormatError):
        assert ChangeOrder.from_json(json.dumps(obj)).body()[key] == value


def test_create_refuses_a_naive_start() -> None:
    with pytest.raises(FormatError):
        ChangeOrder.create(
            keep="k",
            profile="incident",
            not_before=datetime(2025, 1, 1),
            duration=timedelta(hours=1),
            reason="r",
        )


def test_fresh_orders_get_fresh_nonces() -> None:
    def make() -> ChangeOrder:
        return ChangeOrder.create(
            keep="k",
            profile="incident",
            not_before=datetime(2025, 1, 1, tzinfo=UTC),
            duration=timedelta(hours=1),
            reason="r",
        )

    assert make().nonce != make().nonce


def test_a_single_flipped_bit_in_the_signed_body_breaks_the_signature(control: Control) -> None:
    signed = control.order().sign(control.alice)
    message = bytearray(signed.signed_bytes())
    message[-3] ^= 0x01
    assert not control.alice.public_key.verify(signed.signatures[0].signature, bytes(message))
    assert control.alice.public_key.verify(signed.signatures[0].signature, signed.signed_bytes())
    assert isinstance(signed.signatures[0], OrderSignature)
