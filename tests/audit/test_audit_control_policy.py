"""The control policy: strict loading, invariants, and a digest over a canonical encoding."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from audithelp import policy_text

from sealog.audit import SigningKey
from sealog.audit._policy import (
    control_policy_digest,
    format_duration,
    load_control_policy,
    parse_control_policy,
    parse_duration,
)
from sealog.errors import FormatError


@pytest.fixture
def text(keys: dict[str, SigningKey]) -> str:
    return policy_text(
        keys["log"], {"alice": keys["alice"], "bob": keys["bob"]}, {"incident": (2, "2h")}
    )


def test_policy_loads_with_its_approvers_and_targets(
    tmp_path: Path, text: str, keys: dict[str, SigningKey]
) -> None:
    path = tmp_path / "control.toml"
    path.write_text(text)
    policy = load_control_policy(path)
    assert policy.audit_log_key == keys["log"].public_key
    assert [a.name for a in policy.approvers] == ["alice", "bob"]
    rule = policy.target("incident")
    assert rule is not None
    assert (rule.approvals, rule.max_duration) == (2, timedelta(hours=2))
    assert policy.target("development") is None
    assert policy.approver_by_key_id(keys["bob"].key_id) == policy.approvers[1]


def test_digest_ignores_layout_but_not_meaning(text: str, keys: dict[str, SigningKey]) -> None:
    base = control_policy_digest(parse_control_policy(text))
    assert len(base) == 32
    # Comments, blank lines and another spelling of the same duration change nothing.
    relaid = "# reviewed\n\n" + text.replace('"2h"', '"120m"')
    assert control_policy_digest(parse_control_policy(relaid)) == base
    looser = text.replace("approvals = 2", "approvals = 1")
    assert control_policy_digest(parse_control_policy(looser)) != base
    swapped = policy_text(
        keys["log"], {"bob": keys["bob"], "alice": keys["alice"]}, {"incident": (2, "2h")}
    )
    assert control_policy_digest(parse_control_policy(swapped)) == base


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("format = 1", "format = 2"), "format: expected 1, got 2"),
        (("format = 1", 'format = "1"'), "format: expected an integer, got a string"),
        (("approvals = 2", "aprovals = 2"), "unknown key targets.incident.aprovals"),
        (("approvals = 2", "approvals = 3"), "approvals: expected 1 to 2"),
        (("approvals = 2", "approvals = 0"), "approvals: expected 1 to 2"),
        (("approvals = 2", "approvals = true"), "expected an integer, got a boolean"),
        (('max_duration = "2h"', 'max_duration = "2 hours"'), "targets.incident.max_duration"),
        (('max_duration = "2h"', 'max_duration = "0s"'), "expected a duration"),
        (('max_duration = "2h"', "max_duration = 7200"), "expected a string, got an integer"),
        (('name = "alice"', 'name = "bob"'), "approver name 'bob' appears twice"),
        (('name = "alice"', 'name = "al ice"'), "approvers[0].name"),
        (('name = "alice"\n', ""), "missing key approvers[0].name"),
        (("[targets.incident]", "[targets.incident]\nextra = 1"), "unknown key targets.incident"),
        (('audit_log_key = "sealog', 'audit_log_key = "xsealog'), "audit_log_key"),
        (("[[approvers]]", "colour = 'red'\n[[approvers]]"), "unknown key colour"),
        (("format = 1", "format = 1\nformat = 1"), "invalid TOML"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_malformed_policy_names_the_file_and_key(
    text: str, edit: tuple[str, str], message: str
) -> None:
    broken = text.replace(edit[0], edit[1], 1)
    assert broken != text
    with pytest.raises(FormatError, match=r"^control\.toml: ") as info:
        parse_control_policy(broken, source="control.toml")
    assert message in str(info.value)


def test_the_same_key_for_two_approvers_is_refused(keys: dict[str, SigningKey]) -> None:
    text = policy_text(
        keys["log"], {"alice": keys["alice"], "alias": keys["alice"]}, {"incident": (1, "1h")}
    )
    with pytest.raises(FormatError, match="reuses another approver's key"):
        parse_control_policy(text)


def test_missing_sections_are_named(keys: dict[str, SigningKey]) -> None:
    with pytest.raises(FormatError, match="missing key approvers"):
        parse_control_policy(f'format = 1\naudit_log_key = "{keys["log"].public_key.to_text()}"')


def test_missing_policy_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="no such file"):
        load_control_policy(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert format_duration(timedelta(seconds=seconds)) == text


@pytest.mark.parametrize("text", ["", "0s", "-1h", "1.5h", "1w", "h", "01h", "1 h"])
def test_bad_durations_are_bad_input(text: str) -> None:
    with pytest.raises(FormatError, match="expected a duration"):
        parse_duration(text)
