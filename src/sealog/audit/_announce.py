"""Session transparency: every Keep start is an entry in the audit log.

A Keep under a control policy with ``announce_sessions = true`` starts its workload only once it
holds proof that its session is in the audit log, as Certificate Transparency logs certificates:
a session the host deletes from a store then shows up as announced but missing, and one it
fabricates with only the owner's public key as present but never announced.

Encodings, kept apart from the file format as for orders:

* **The announcement** (:class:`SessionAnnouncement`): what identifies one session start, all of
  it taken from the session header the host already stores in clear.
* **Entry bytes** (:meth:`SessionAnnouncement.entry_bytes`): ``b"sealog/session-entry/v1\\n"``
  followed by the canonical JSON of the announcement; what the log stores.
* **The bundle** (:class:`AnnouncementBundle`): the announcement with its leaf index, inclusion
  proof and signed tree head; what the operator hands to the Keep through the control folder and
  what the Keep seals into its stream.

The Keep decides with :func:`check_announcement`; the operator appends with
:func:`announce_session`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sealog._files import atomic_write, read_bytes
from sealog._strict import canonical_json, strict_json
from sealog.audit._inclusion import check_included
from sealog.audit._log import AuditLog
from sealog.audit._merkle import leaf_hash
from sealog.audit._orders import (
    OrderInclusion,
    _fields,
    _typed,
    bundle_inclusion,
    format_time,
)
from sealog.audit._policy import ControlPolicy, format_duration
from sealog.errors import FormatError, PolicyError
from sealog.seal import Header, check_keep_id

__all__ = [
    "ANNOUNCE_SUFFIX",
    "TREE_HEAD_SKEW",
    "AnnouncementBundle",
    "SessionAnnouncement",
    "announce_session",
    "announcement_file",
    "check_announcement",
    "find_announcement",
]

_ENTRY_DOMAIN = b"sealog/session-entry/v1\n"
_EVIDENCE_DOMAIN = b"sealog/evidence/v1\n"
_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: every start time has a date
_FORMAT = "sealog-session/v1"
_BUNDLE_FORMAT = "sealog-announce-bundle/v1"
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KEY_ID = re.compile(r"^[0-9a-f]{16,64}$")
_FIELDS = {
    "evidence_digest",
    "format",
    "header_digest",
    "keep",
    "owner_key_id",
    "profile_digest",
    "session",
    "started_ms",
}
#: The file name suffix of announcement bundles in the control folder (not ``.json``, so the
#: order follower never takes one for a change order).
ANNOUNCE_SUFFIX = ".announce"
#: How far a tree head's time may lie before the session's start or after the Keep's clock: the
#: Keep and the log run on different machines.
TREE_HEAD_SKEW = timedelta(seconds=60)


def _evidence_digest(header: Header) -> bytes:
    evidence = header.evidence.to_json() if header.evidence is not None else None
    return hashlib.sha256(_EVIDENCE_DOMAIN + canonical_json(evidence)).digest()


@dataclass(frozen=True)
class SessionAnnouncement:
    """One Keep start, as the audit log records it.

    Attributes:
        session: the session id (32 hex digits).
        header_digest: the session header's digest (what every frame binds).
        keep: the Keep id.
        owner_key_id: the owner key the session is sealed to (so an owner can pick out its own
            sessions in a log shared by many).
        profile_digest: the launch profile's digest.
        evidence_digest: SHA-256 over ``b"sealog/evidence/v1\\n"`` and the canonical JSON of the
            header's evidence (``null`` for none).
        started_ms: the header's start time, whole milliseconds since the Unix epoch.
    """

    session: str
    header_digest: bytes
    keep: str
    owner_key_id: str
    profile_digest: bytes
    evidence_digest: bytes
    started_ms: int

    def __post_init__(self) -> None:
        if not _HEX32.fullmatch(self.session):
            raise FormatError(f"session: expected 32 hex digits, got {self.session!r}")
        for name in ("header_digest", "profile_digest", "evidence_digest"):
            if len(getattr(self, name)) != 32:
                raise FormatError(f"{name}: expected 32 bytes")
        if not _KEY_ID.fullmatch(self.owner_key_id):
            raise FormatError(
                f"owner_key_id: expected 16 to 64 hex digits, got {self.owner_key_id!r}"
            )
        check_keep_id(self.keep)  # printed by the owner's check: the one safe alphabet
        if not 0 <= self.started_ms <= _MAX_MS:
            raise FormatError(f"started_ms: expected 0 to {_MAX_MS}, got {self.started_ms}")

    @classmethod
    def for_header(cls, header: Header) -> SessionAnnouncement:
        """The announcement of the session ``header`` starts.

        Raises:
            FormatError: the header names no start time or a Keep id an entry cannot carry.
        """
        try:
            started_ms = round(header.created * 1000)
        except (OverflowError, ValueError) as exc:
            raise FormatError(f"created: not a time: {header.created!r}") from exc
        return cls(
            session=header.session_hex,
            header_digest=header.digest,
            keep=header.keep_id,
            owner_key_id=header.launch.owner_key_id,
            profile_digest=header.profile_digest,
            evidence_digest=_evidence_digest(header),
            started_ms=started_ms,
        )

    @property
    def started(self) -> datetime:
        """The start time, aware (UTC)."""
        return datetime.fromtimestamp(self.started_ms / 1000, UTC)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object form (also what the entry bytes encode)."""
        return {
            "format": _FORMAT,
            "session": self.session,
            "header_digest": self.header_digest.hex(),
            "keep": self.keep,
            "owner_key_id": self.owner_key_id,
            "profile_digest": self.profile_digest.hex(),
            "evidence_digest": self.evidence_digest.hex(),
            "started_ms": self.started_ms,
        }

    def entry_bytes(self) -> bytes:
        """What the audit log stores for this announcement."""
        return _ENTRY_DOMAIN + canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, obj: object, *, source: str = "announcement") -> SessionAnnouncement:
        """Parse the JSON object form.

        Raises:
            FormatError: an unknown, missing or malformed field.
        """
        top = _fields(obj, _FIELDS, "announcement", source)
        if top["format"] != _FORMAT:
            raise FormatError(f"{source}: format: expected {_FORMAT!r}, got {top['format']!r}")
        digests = {}
        for name in ("header_digest", "profile_digest", "evidence_digest"):
            text = _typed(top, name, str, "announcement", source)
            if not _HEX64.fullmatch(text):
                raise FormatError(f"{source}: announcement.{name}: expected 64 hex digits")
            digests[name] = bytes.fromhex(text)
        try:
            return cls(
                session=_typed(top, "session", str, "announcement", source),
                keep=_typed(top, "keep", str, "announcement", source),
                owner_key_id=_typed(top, "owner_key_id", str, "announcement", source),
                started_ms=_typed(top, "started_ms", int, "announcement", source),
                **digests,
            )
        except FormatError as exc:
            raise FormatError(f"{source}: {exc}") from exc

    @classmethod
    def from_entry_bytes(
        cls, data: bytes, *, source: str = "audit log entry"
    ) -> SessionAnnouncement:
        """Parse what :meth:`entry_bytes` produced (to read announcements back from the log).

        Raises:
            FormatError: the entry is not a session announcement in canonical form.
        """
        if not data.startswith(_ENTRY_DOMAIN):
            raise FormatError(f"{source}: not a session announcement entry")
        found = cls.from_dict(strict_json(data[len(_ENTRY_DOMAIN) :], source), source=source)
        if found.entry_bytes() != data:
            raise FormatError(f"{source}: session announcement entry is not in canonical form")
        return found


@dataclass(frozen=True)
class AnnouncementBundle:
    """An announcement with its proof of inclusion: what the Keep receives and seals.

    Attributes:
        announcement: the session's announcement.
        inclusion: its leaf index, inclusion proof and signed tree head.
    """

    announcement: SessionAnnouncement
    inclusion: OrderInclusion

    def to_dict(self) -> dict[str, Any]:
        """The bundle's JSON object."""
        return {
            "format": _BUNDLE_FORMAT,
            "announcement": self.announcement.to_dict(),
            "leaf_index": self.inclusion.leaf_index,
            "inclusion_proof": [base64.b64encode(p).decode() for p in self.inclusion.proof],
            "tree_head": self.inclusion.tree_head.to_dict(),
        }

    def to_json(self) -> str:
        """The bundle file's text (indented JSON with a line end)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, obj: object, *, source: str = "announcement bundle") -> AnnouncementBundle:
        """Parse the bundle's JSON object.

        Raises:
            FormatError: not a bundle.
        """
        top = _fields(
            obj,
            {"format", "announcement", "leaf_index", "inclusion_proof", "tree_head"},
            "bundle",
            source,
        )
        inclusion = bundle_inclusion(top, _BUNDLE_FORMAT, source)
        announcement = SessionAnnouncement.from_dict(top["announcement"], source=source)
        return cls(announcement, inclusion)

    @classmethod
    def from_json(
        cls, text: str | bytes, *, source: str = "announcement bundle"
    ) -> AnnouncementBundle:
        """Parse a bundle file's text.

        Raises:
            FormatError: not JSON or not a bundle.
        """
        return cls.from_dict(strict_json(text, source), source=source)

    @classmethod
    def load(cls, path: Path) -> AnnouncementBundle:
        """Read a bundle file.

        Raises:
            FormatError: missing, unreadable or malformed file.
        """
        return cls.from_json(read_bytes(path), source=str(path))

    def save(self, path: Path) -> None:
        """Write the bundle file atomically (the Keep never sees half of it)."""
        atomic_write(path, self.to_json())


def announcement_file(folder: Path, session: str) -> Path:
    """Where the Keep of ``session`` looks for its bundle in the control folder."""
    return folder / f"{session}{ANNOUNCE_SUFFIX}"


def check_announcement(
    bundle: AnnouncementBundle,
    header: Header,
    policy: ControlPolicy,
    *,
    now: datetime,
) -> None:
    """Decide whether a Keep may start its workload on this bundle; the Keep's single check.

    1. the bundle announces exactly this session: same Keep id, header digest and every other
       field of :meth:`SessionAnnouncement.for_header` (a bundle for another Keep or another
       session of the same Keep is refused);
    2. the tree head is fresh: not older than the session's start, nor later than ``now``, each
       give or take :data:`TREE_HEAD_SKEW` (an old tree head cannot hold an entry made after it),
       and not older than the policy's ``max_tree_head_age`` when it sets one;
    3. the tree head's signature verifies with the policy's ``audit_log_key``;
    4. the inclusion proof shows the announcement's entry at its leaf index under that head.

    Args:
        bundle: the bundle from the control folder.
        header: this session's header.
        policy: the launch configuration's control policy.
        now: the Keep's current time (aware).

    Raises:
        PolicyError: a check fails; the message says expected against actual.
        FormatError: ``now`` has no time zone.
    """
    if now.tzinfo is None:
        raise FormatError("now: expected a time with a time zone")
    ours = SessionAnnouncement.for_header(header)
    got = bundle.announcement
    # Step 1: this Keep, this session, this header.
    if got.keep != ours.keep:
        raise PolicyError(f"announcement is for Keep {got.keep!r}, this is Keep {ours.keep!r}")
    if got.session != ours.session or got.header_digest != ours.header_digest:
        raise PolicyError(
            f"announcement is for session {got.session[:16]}, this is session {ours.session[:16]}"
        )
    if got != ours:
        raise PolicyError("announcement does not match this session's header")
    # Step 2: freshness against this session's own start and the Keep's clock.
    sth = bundle.inclusion.tree_head
    if sth.time < ours.started - TREE_HEAD_SKEW:
        raise PolicyError(
            f"audit log tree head of {format_time(sth.time)} is older than the session "
            f"(started {format_time(ours.started)}): stale"
        )
    age = now.astimezone(UTC) - sth.time
    if policy.max_tree_head_age is not None and age > policy.max_tree_head_age:
        raise PolicyError(
            f"audit log tree head is {int(age.total_seconds())}s old, older than the "
            f"{format_duration(policy.max_tree_head_age)} the control policy allows"
        )
    if sth.time > now.astimezone(UTC) + TREE_HEAD_SKEW:
        raise PolicyError(
            f"audit log tree head of {format_time(sth.time)} is in the future "
            f"(now {format_time(now)})"
        )
    # Steps 3 and 4: signed by the policy's log, and the entry is in it.
    check_included(
        ours.entry_bytes(),
        leaf_index=bundle.inclusion.leaf_index,
        proof=bundle.inclusion.proof,
        tree_head=sth,
        log_key=policy.audit_log_key,
        what="session announcement",
    )


def find_announcement(log: AuditLog, announcement: SessionAnnouncement) -> int | None:
    """The leaf index of ``announcement`` in ``log``, or None when it is not there."""
    # Leaf hashes, not entries: one read of the index instead of every entry's bytes.
    wanted = leaf_hash(announcement.entry_bytes())
    for index, leaf in enumerate(log.leaf_hashes()):
        if leaf == wanted:
            return index
    return None


def announce_session(log: AuditLog, header: Header) -> AnnouncementBundle:
    """Log the start of the session ``header`` begins (once) and return the Keep's bundle.

    Announcing a session twice does not add a second entry: the bundle proves the first one
    under the current tree head.

    Args:
        log: the audit log (opened with its private key present).
        header: the session header, as the store holds it.

    Raises:
        FormatError: no usable log key.
    """
    announcement = SessionAnnouncement.for_header(header)
    index = find_announcement(log, announcement)
    if index is None:
        index, proof, sth = log.append(announcement.entry_bytes())
    else:
        sth = log.tree_head()
        proof = log.inclusion_proof(index, sth.size)
    return AnnouncementBundle(announcement, OrderInclusion(index, tuple(proof), sth))
