"""Session announcements: the policy keys, the log entry, and the Keep's check of its bundle.

Every attack here hands the Keep a bundle that must not let its workload start: one for another
Keep or another session, a tree head the policy's log did not sign, a stale or future one, and
an entry that is not the one proven. Time is fixed (``NOW``); nothing reads the clock.
"""

from __future__ import annotations

import contextlib
import functools
import json
import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from audithelp import NOW, Control, policy_text
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.audit import (
    TREE_HEAD_SKEW,
    AnnouncementBundle,
    AuditLog,
    OrderInclusion,
    SessionAnnouncement,
    SignedTreeHead,
    SigningKey,
    announce_session,
    check_announcement,
    control_policy_digest,
    parse_control_policy,
)
from sealog.errors import Error, FormatError, PolicyError
from sealog.seal import Header, LaunchConfig, OwnerPrivateKey, generate_owner_key
from sealog.seal._writer import start_session
from streams import none_evidence


def _header(owner: OwnerPrivateKey, keep: str = "keep-1", offset: float = 0.0) -> Header:
    launch = LaunchConfig("production", "production", b"\x22" * 32, owner.public_key.key_id)
    header, _ = start_session(
        owner.public_key, launch, none_evidence, keep_id=keep, now=NOW.timestamp() + offset
    )
    return header


def _with_announcements(text: str, extra: str) -> str:
    head, _, rest = text.partition("[[approvers]]")
    return f"{head}{extra}\n[[approvers]]{rest}"


# -- the policy ---------------------------------------------------------------------------


def test_policy_without_announcements_keeps_the_digest_it_always_had(
    keys: dict[str, SigningKey],
) -> None:
    text = policy_text(keys["log"], {"alice": keys["alice"]}, {"incident": (1, "1h")})
    plain = parse_control_policy(text)
    off = parse_control_policy(_with_announcements(text, "announce_sessions = false"))
    on = parse_control_policy(_with_announcements(text, "announce_sessions = true"))
    longer = parse_control_policy(
        _with_announcements(text, 'announce_sessions = true\nannounce_wait = "10m"')
    )
    assert control_policy_digest(off) == control_policy_digest(plain)
    assert not plain.announce_sessions
    assert on.announce_sessions
    assert on.announce_wait == timedelta(minutes=2)
    assert longer.announce_wait == timedelta(minutes=10)
    # A host that drops the key, or stretches the wait, changes what attestation binds.
    digests = {control_policy_digest(p) for p in (plain, on, longer)}
    assert len(digests) == 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('announce_wait = "1m"', "announce_wait: needs announce_sessions = true"),
        ('announce_sessions = "yes"', "announce_sessions: expected a boolean"),
        ('announce_sessions = true\nannounce_wait = "soon"', "announce_wait: expected a duration"),
        ('announce_sessions = true\nannounce_wait = "0s"', "announce_wait: expected a duration"),
        ("announce_session = true", "unknown key announce_session"),
    ],
)
def test_malformed_announcement_keys_are_refused_by_name(
    keys: dict[str, SigningKey], extra: str, message: str
) -> None:
    text = policy_text(keys["log"], {"alice": keys["alice"]}, {"incident": (1, "1h")})
    with pytest.raises(FormatError, match=message):
        parse_control_policy(_with_announcements(text, extra), source="policy.toml")


# -- the entry and the bundle ---------------------------------------------------------------


def test_announcement_names_the_session_header_and_round_trips(owner_key: OwnerPrivateKey) -> None:
    header = _header(owner_key)
    found = SessionAnnouncement.for_header(header)
    assert found.header_digest == header.digest
    assert found.keep == "keep-1"
    assert found.profile_digest == b"\x22" * 32
    assert found.started_ms == round(NOW.timestamp() * 1000)
    assert SessionAnnouncement.from_entry_bytes(found.entry_bytes()) == found
    # The evidence is named too: other evidence, other entry.
    other = replace(header, evidence=none_evidence(b"\x00" * 64))
    assert SessionAnnouncement.for_header(other).evidence_digest != found.evidence_digest


def test_non_canonical_or_foreign_entry_is_not_an_announcement(owner_key: OwnerPrivateKey) -> None:
    entry = SessionAnnouncement.for_header(_header(owner_key)).entry_bytes()
    prefix, body = entry.split(b"\n", 1)
    spaced = prefix + b"\n" + json.dumps(json.loads(body), indent=1).encode()
    with pytest.raises(FormatError, match="canonical"):
        SessionAnnouncement.from_entry_bytes(spaced)
    with pytest.raises(FormatError, match="not a session announcement"):
        SessionAnnouncement.from_entry_bytes(b"sealog/order-entry/v1\n{}")


def test_keep_id_that_could_spoof_a_report_line_is_refused(owner_key: OwnerPrivateKey) -> None:
    found = SessionAnnouncement.for_header(_header(owner_key))
    with pytest.raises(FormatError, match="keep"):
        replace(found, keep="k1\nANNOUNCED")


def test_announcing_a_session_twice_logs_it_once(
    control: Control, owner_key: OwnerPrivateKey
) -> None:
    header = _header(owner_key)
    first = announce_session(control.log, header)
    second = announce_session(control.log, header)
    assert control.log.size == 1
    assert second.inclusion.leaf_index == first.inclusion.leaf_index == 0
    loaded = AnnouncementBundle.from_json(second.to_json())
    assert loaded == second


def test_bundle_with_an_unknown_field_is_refused(
    control: Control, owner_key: OwnerPrivateKey
) -> None:
    obj = announce_session(control.log, _header(owner_key)).to_dict()
    obj["announcement"]["workload_ok"] = True
    with pytest.raises(FormatError, match=r"unknown key announcement\.workload_ok"):
        AnnouncementBundle.from_dict(obj)


# -- the Keep's check -----------------------------------------------------------------------


def test_keep_accepts_its_own_logged_announcement(
    control: Control, owner_key: OwnerPrivateKey
) -> None:
    header = _header(owner_key)
    bundle = announce_session(control.log, header)
    check_announcement(bundle, header, control.policy, now=NOW)


def test_announcement_for_another_keep_is_refused(
    control: Control, owner_key: OwnerPrivateKey
) -> None:
    header = _header(owner_key)
    theirs = replace(SessionAnnouncement.for_header(header), keep="keep-2")
    index, proof, sth = control.log.append(theirs.entry_bytes())
    bundle = AnnouncementBundle(theirs, OrderInclusion(index, tuple(proof), sth))
    with pytest.raises(PolicyError, match="for Keep 'keep-2', this is Keep 'keep-1'"):
        check_announcement(bundle, header, control.policy, now=NOW)


def test_announcement_of_an_earlier_session_is_refused(
    control: Control, owner_key: OwnerPrivateKey
) -> None:
    """The host replays the bundle of the Keep's previous start to skip announcing this one."""
    earlier = announce_session(control.log, _header(owner_key, offset=-30))
    header = _header(owner_key)
    with pytest.raises(PolicyError, match=r"for session .*, this is session"):
        check_announcement(earlier, header, control.policy, now=NOW)


def test_tree_head_forged_with_another_log_key_is_refused(
    control: Control, owner_key: OwnerPrivateKey, tmp_path: Path
) -> None:
    rogue = AuditLog.init(tmp_path / "rogue", SigningKey.generate(), clock=lambda: NOW)
    header = _header(owner_key)
    bundle = announce_session(rogue, header)
    with pytest.raises(PolicyError, match="not signed by the policy's audit log key"):
        check_announcement(bundle, header, control.policy, now=NOW)


def test_stale_tree_head_is_refused(control: Control, owner_key: OwnerPrivateKey) -> None:
    """The log's operator signs a backdated head: it cannot hold an entry made after it."""
    header = _header(owner_key)
    good = announce_session(control.log, header)
    sth = good.inclusion.tree_head
    old = int((NOW - TREE_HEAD_SKEW - timedelta(seconds=1)).timestamp() * 1000)
    stale = SignedTreeHead.sign(control.log_key, sth.size, sth.root_hash, old)
    bundle = replace(good, inclusion=replace(good.inclusion, tree_head=stale))
    with pytest.raises(PolicyError, match=r"older than the session .*stale"):
        check_announcement(bundle, header, control.policy, now=NOW)


def test_tree_head_from_the_future_is_refused(control: Control, owner_key: OwnerPrivateKey) -> None:
    header = _header(owner_key)
    good = announce_session(control.log, header)
    sth = good.inclusion.tree_head
    later = int((NOW + TREE_HEAD_SKEW + timedelta(seconds=1)).timestamp() * 1000)
    future = SignedTreeHead.sign(control.log_key, sth.size, sth.root_hash, later)
    bundle = replace(good, inclusion=replace(good.inclusion, tree_head=future))
    with pytest.raises(PolicyError, match="in the future"):
        check_announcement(bundle, header, control.policy, now=NOW)


def test_announcement_not_in_the_log_is_refused(
    control: Control, owner_key: OwnerPrivateKey
) -> None:
    """A real tree head of the right log, but the entry proven is another one."""
    header = _header(owner_key)
    ours = SessionAnnouncement.for_header(header)
    index, proof, sth = control.log.append(b"some other entry")
    bundle = AnnouncementBundle(ours, OrderInclusion(index, tuple(proof), sth))
    with pytest.raises(PolicyError, match="session announcement is not proven included"):
        check_announcement(bundle, header, control.policy, now=NOW)


@functools.cache
def _one_bundle() -> tuple[AnnouncementBundle, Header, str]:
    """One logged announcement, built once for the property tests below."""
    log_key = SigningKey.generate()
    log = AuditLog.init(Path(tempfile.mkdtemp()) / "log", log_key, clock=lambda: NOW)
    for i in range(5):  # a proof with a few hashes in it
        log.append(f"entry {i}".encode())
    header = _header(generate_owner_key())
    policy = policy_text(log_key, {"alice": SigningKey.generate()}, {"incident": (1, "1h")})
    return announce_session(log, header), header, policy


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_flipped_bit_in_a_bundle_is_refused_or_changes_nothing(data: st.DataObject) -> None:
    """A host flips one bit of the bundle it hands over: the Keep refuses it, unless the flip
    lands where it changes no value (base64's unused bits): then it is the same bundle."""
    bundle, header, text = _one_bundle()
    policy = parse_control_policy(text)
    raw = bytearray(bundle.to_json().encode())
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    try:
        flipped = AnnouncementBundle.from_json(bytes(raw))
        check_announcement(flipped, header, policy, now=NOW)
    except Error:
        return
    assert flipped == bundle


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_arbitrary_input_never_escapes_as_anything_but_format_error(data: bytes) -> None:
    for parse in (AnnouncementBundle.from_json, SessionAnnouncement.from_entry_bytes):
        with contextlib.suppress(FormatError):
            parse(data)


def test_tree_head_older_than_the_policy_allows_is_refused(
    control: Control, owner_key: OwnerPrivateKey
) -> None:
    """With max_tree_head_age set, an announcement's head obeys it as an order's does."""
    header = _header(owner_key)
    bundle = announce_session(control.log, header)
    strict = replace(control.policy, max_tree_head_age=timedelta(seconds=30))
    check_announcement(bundle, header, strict, now=NOW + timedelta(seconds=30))
    with pytest.raises(PolicyError, match="31s old, older than the 30s"):
        check_announcement(bundle, header, strict, now=NOW + timedelta(seconds=31))
