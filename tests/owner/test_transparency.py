"""The owner's transparency check against forged sessions a host writes with the library."""

from __future__ import annotations

from pathlib import Path

from sealog.audit import AuditLog, SigningKey, announce_session
from sealog.host import Store
from sealog.keep._session import SealedSession
from sealog.owner import check_transparency
from sealog.seal import Header, LaunchConfig, OwnerPrivateKey, generate_owner_key
from sealog.seal._writer import start_session
from streams import none_evidence, plain_profile


def _session(
    store: Path, owner: OwnerPrivateKey, keep: str, created: float | None = None
) -> Header:
    launch = LaunchConfig("test", "production", b"\x11" * 32, owner.public_key.key_id)
    header, sealer = start_session(
        owner.public_key, launch, none_evidence, keep_id=keep, now=created
    )
    prof = plain_profile()
    sink = (Store.open(store) if store.exists() else Store.create(store)).new_session(header)
    SealedSession(sealer, sink, prof.owner, prof.stream, start=False).close()
    return header


def test_forged_header_that_no_log_entry_can_carry_is_unannounced_not_a_crash(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    """A host forges a session whose start time lies beyond any date: reported, no traceback.
    (A Keep id with line ends or escapes no longer parses as a header at all.)"""
    store = tmp_path / "store"
    _session(store, owner_key, "k1", 1e300)
    log = AuditLog.init(tmp_path / "log", SigningKey.generate())
    report = check_transparency(store, owner_key, tmp_path / "log")
    (found,) = report.sessions
    assert found.status == "unannounced"
    assert not report.ok
    assert log.size == 0


def test_other_owners_announcements_in_a_shared_log_are_not_ours_to_miss(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    store = tmp_path / "store"
    mine = _session(store, owner_key, "k1")
    log = AuditLog.init(tmp_path / "log", SigningKey.generate())
    # Another owner's Keep, announced in the same log: its session is not missing from ours.
    theirs = _session(tmp_path / "their-store", generate_owner_key(), "k9")
    announce_session(log, theirs)
    report = check_transparency(store, owner_key, tmp_path / "log")
    assert [(s.session, s.status) for s in report.sessions] == [(mine.session_hex, "unannounced")]
