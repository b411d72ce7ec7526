"""The owner's session-transparency check: a store against the audit log's announcements.

Each session verifies on its own, so a host that deletes a whole session (or rolls a store back)
or fabricates one with only the owner's public key is not caught by ``verify`` alone. When Keeps
announce every start in the audit log (``announce_sessions = true`` in their control policy),
the owner compares, per Keep:

``missing``      announced in the log, sealed to this owner, but not in the store (deleted);
``unannounced``  in the store, never announced (fabricated, or started without the policy);
``unproven``     announced, but the session's sealed bundle does not prove that same entry;
``announced``    in both, and the sealed bundle proves the entry the log holds;
``not-started``  in the store without a sealed bundle, and the Keep sealed nothing but that it
                 gave up waiting (timed out, refused or stopped): no workload ran.

The log itself is checked first, as ``sealog audit verify`` does: every entry, the latest signed
tree head, and consistency with a tree head the owner saw before (``since``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sealog.audit import (
    AnnouncementBundle,
    AuditLog,
    LogVerification,
    SessionAnnouncement,
    SignedTreeHead,
    VerifyKey,
    check_included,
    verify_consistency,
)
from sealog.errors import Error, FormatError
from sealog.host import Store
from sealog.owner._store_ops import readers
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._vocabulary import (
    CONTROL_LOGGER,
    EVENT_ANNOUNCE_REFUSED,
    EVENT_ANNOUNCE_STOPPED,
    EVENT_ANNOUNCE_TIMEOUT,
    EVENT_SESSION_ANNOUNCED,
)

__all__ = ["SessionPresence", "TransparencyReport", "check_transparency"]

ANNOUNCED = "announced"
MISSING = "missing"
UNANNOUNCED = "unannounced"
UNPROVEN = "unproven"
NOT_STARTED = "not-started"
_FAILING = frozenset({MISSING, UNANNOUNCED, UNPROVEN})
_GAVE_UP = frozenset({EVENT_ANNOUNCE_TIMEOUT, EVENT_ANNOUNCE_REFUSED, EVENT_ANNOUNCE_STOPPED})


@dataclass(frozen=True)
class SessionPresence:
    """One session as the log and the store know it.

    Attributes:
        keep: the Keep id.
        session: the session id.
        status: ``announced``, ``missing``, ``unannounced``, ``unproven`` or ``not-started``.
        started: the session's start time (from the header or the log entry).
        leaf_index: its entry in the audit log, when announced.
        message: one line for people.
    """

    keep: str
    session: str
    status: str
    started: datetime
    leaf_index: int | None
    message: str

    @property
    def ok(self) -> bool:
        """False for a missing, unannounced or unproven session."""
        return self.status not in _FAILING

    def to_json(self) -> dict[str, Any]:
        """The ``verify --json`` form."""
        return {
            "keep": self.keep,
            "session": self.session,
            "status": self.status,
            "ok": self.ok,
            "started": self.started.isoformat(),
            "leaf_index": self.leaf_index,
            "message": self.message,
        }


@dataclass(frozen=True)
class TransparencyReport:
    """What :func:`check_transparency` found.

    Attributes:
        log: what the audit log's own check established.
        sessions: every session of this owner, sorted by Keep, then start time.
        stored: how many sessions the store holds (any owner's); 0 when the host deleted all.
    """

    log: LogVerification
    sessions: tuple[SessionPresence, ...]
    stored: int = 0

    @property
    def ok(self) -> bool:
        """True when no session is missing, unannounced or unproven."""
        return all(s.ok for s in self.sessions)

    def by_keep(self) -> dict[str, list[SessionPresence]]:
        """The sessions grouped per Keep, Keeps sorted by id."""
        out: dict[str, list[SessionPresence]] = {}
        for s in self.sessions:
            out.setdefault(s.keep, []).append(s)
        return out


def check_transparency(
    store_path: Path | str,
    key: OwnerPrivateKey,
    log_dir: Path,
    *,
    since: SignedTreeHead | None = None,
    log_key: VerifyKey | None = None,
    keep: str | None = None,
) -> TransparencyReport:
    """Compare a store's sessions with the sessions announced in an audit log.

    1. verify the log (:meth:`sealog.audit.AuditLog.verify`, with ``since`` and ``log_key``);
    2. collect its session announcements sealed to ``key`` (other owners' are not ours to judge);
    3. read every session of the store; one the log announces must hold a sealed bundle that
       proves the same entry (inclusion under the bundle's tree head, signed by the log key,
       and that tree head consistent with the log today); one it does not announce is
       ``unannounced`` (or ``not-started`` when the Keep sealed that it gave up waiting);
    4. every announced session the store lacks is ``missing``.

    Args:
        store_path: the store folder.
        key: the owner's private key.
        log_dir: the audit log folder.
        since: a tree head of this log seen before; the log must extend it.
        log_key: the log key the owner trusts (default: the folder's ``log.pub``).
        keep: only this Keep's sessions (a store pulled from a ``nats://`` source for one Keep).

    Returns:
        The report; check :attr:`TransparencyReport.ok`.

    Raises:
        VerificationError: the log itself fails its check (modified, rolled back, forked).
        FormatError: the store or the log folder is missing or malformed.
    """
    # Step 1.
    log = AuditLog.open(log_dir)
    verified = log.verify(since=since, log_key=log_key)
    # Step 2.
    owner_id = key.public_key.key_id
    announced: dict[bytes, tuple[int, SessionAnnouncement]] = {}
    for index, data in log.entries():
        try:
            entry = SessionAnnouncement.from_entry_bytes(data)
        except FormatError:
            continue  # a change order, or another kind of entry
        if entry.owner_key_id == owner_id and keep in (None, entry.keep):
            announced.setdefault(entry.header_digest, (index, entry))
    # Step 3.
    found: list[SessionPresence] = []
    seen: set[bytes] = set()
    store = Store.open(Path(store_path))
    store.check_clean()
    stored = len(store.sessions())
    # An empty store is no error here: a host that deletes every session must show as MISSING.
    for reader in readers(store_path, key) if stored else []:
        sealed_bundle: Any = None
        gave_up = False
        only_sealog = True
        for record in reader.read():
            only_sealog = only_sealog and record.source == "sealog"
            if record.source == "sealog" and record.logger == CONTROL_LOGGER:
                event = record.fields.get("event")
                if event == EVENT_SESSION_ANNOUNCED and sealed_bundle is None:
                    sealed_bundle = record.fields.get("bundle")
                gave_up = gave_up or event in _GAVE_UP
        header = reader.header
        if header is None or header.launch.owner_key_id != owner_id:
            continue  # unreadable or not ours: the session's own verdict says so
        if keep is not None and header.keep_id != keep:
            continue
        try:
            ours = SessionAnnouncement.for_header(header)
        except FormatError:
            # No Keep could have announced it (the log refuses such a Keep id); shown escaped.
            found.append(
                SessionPresence(
                    ascii(header.keep_id),
                    header.session_hex,
                    UNANNOUNCED,
                    _when(header.created),
                    None,
                    "in the store with a Keep id no announcement can carry",
                )
            )
            continue
        seen.add(ours.header_digest)
        if ours.header_digest not in announced:
            if gave_up and only_sealog:
                status, message = NOT_STARTED, "never announced; the Keep gave up waiting"
            else:
                status, message = UNANNOUNCED, "in the store but never announced in the log"
            found.append(
                SessionPresence(ours.keep, ours.session, status, ours.started, None, message)
            )
            continue
        index = announced[ours.header_digest][0]
        if sealed_bundle is None and gave_up and only_sealog:
            message = f"announced at log entry {index}, but the Keep gave up before the bundle came"
            found.append(
                SessionPresence(ours.keep, ours.session, NOT_STARTED, ours.started, index, message)
            )
            continue
        problem = _bundle_problem(sealed_bundle, ours, log, verified)
        found.append(
            SessionPresence(
                ours.keep,
                ours.session,
                UNPROVEN if problem else ANNOUNCED,
                ours.started,
                index,
                problem or f"announced at log entry {index}; sealed proof checks",
            )
        )
    # Step 4.
    for digest, (index, entry) in announced.items():
        if digest not in seen:
            found.append(
                SessionPresence(
                    entry.keep,
                    entry.session,
                    MISSING,
                    entry.started,
                    index,
                    f"announced at log entry {index} but not in the store",
                )
            )
    found.sort(key=lambda s: (s.keep, s.started, s.session))
    return TransparencyReport(verified, tuple(found), stored)


def _when(seconds: float) -> datetime:
    """A header's start time as a date, or the epoch when it names none (a forged header)."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return datetime.fromtimestamp(0, UTC)


def _bundle_problem(
    sealed: Any, ours: SessionAnnouncement, log: AuditLog, verified: LogVerification
) -> str | None:
    """Why the session's sealed bundle does not prove its entry in this log, or None."""
    if sealed is None:
        return "announced in the log, but the session holds no sealed announcement"
    try:
        bundle = AnnouncementBundle.from_dict(sealed, source="sealed announcement")
        if bundle.announcement != ours:
            return "the sealed announcement is not this session's"
        sth = bundle.inclusion.tree_head
        check_included(
            ours.entry_bytes(),
            leaf_index=bundle.inclusion.leaf_index,
            proof=bundle.inclusion.proof,
            tree_head=sth,
            log_key=log.public_key,
            what="sealed session announcement",
        )
        if sth.size > verified.size:
            return f"sealed tree head covers {sth.size} entries, the log holds {verified.size}"
        if sth.size < verified.size:
            proof = log.consistency_proof(sth.size, verified.size)
            verify_consistency(sth.size, verified.size, proof, sth.root_hash, verified.root_hash)
        elif sth.root_hash != verified.root_hash:
            return "sealed tree head and the log's differ at the same size (log forked)"
    except Error as exc:
        return f"sealed announcement does not check: {exc}"
    return None
