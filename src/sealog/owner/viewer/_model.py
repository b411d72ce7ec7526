"""What the viewer shows, read through the owner's public API: sessions, records, selections.

Nothing here knows about HTTP. A :class:`StoreModel` reads each session once with
:func:`sealog.owner.read_store` and keeps it in memory until the session's file grows (a live
session), so pages after the first are served without decrypting again.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sealog.attest import Appraisal, AppraisalPolicy, appraise
from sealog.errors import FormatError
from sealog.host import HostView, SessionView, Store, host_view
from sealog.owner import OwnerPrivateKey, ProfileSpan, Verdict, read_store, verify_store
from sealog.profile import LEVELS
from sealog.seal import Record

__all__ = [
    "RING_EVENT",
    "RecordQuery",
    "SessionData",
    "StoreModel",
    "level_number",
    "parse_when",
]

#: The control record that announces a flight-recorder release (its records follow it).
RING_EVENT = "ring.sealed"
_SESSION_LOGGER = "sealog.session"
#: A time given to the minute, no seconds and no zone.
_TO_THE_MINUTE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
#: Level names the level filter accepts besides the stdlib ones.
_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL"}


@dataclass(frozen=True)
class SessionData:
    """One session as the owner reads it, with what the pages show about it computed once.

    Attributes:
        verdict: what verification found (records are those that authenticated).
        appraisal: the attestation appraisal of the header, when there is a header.
        records: the authenticated records, in order.
        profiles: the profile in force when each record was read (same order as ``records``).
        file_bytes: the size of the sealed file when it was read.
        first: time of the first record (None without records).
        last: time of the latest record.
        levels: how many records at each level name.
        drops: records the Keep dropped (sealed counts; the closing record holds the total).
        releases: the control records announcing flight-recorder releases.
    """

    verdict: Verdict
    appraisal: Appraisal | None
    records: tuple[Record, ...]
    profiles: tuple[str, ...]
    file_bytes: int
    first: float | None = None
    last: float | None = None
    levels: dict[str, int] = field(default_factory=dict)
    drops: int = 0
    releases: tuple[Record, ...] = ()
    _haystacks: list[str] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        verdict: Verdict,
        appraisal: Appraisal | None,
        records: tuple[Record, ...],
        profiles: tuple[str, ...],
        file_bytes: int,
    ) -> SessionData:
        """Summarise the records once (a large session is not walked again per page)."""
        levels: Counter[str] = Counter()
        drops = noted = 0
        closed_count: int | None = None
        releases = []
        last = None
        for record in records:
            levels[record.level_name] += 1
            last = record.time if last is None else max(last, record.time)
            if record.source != "sealog":
                continue
            fields = record.fields
            if fields.get("event") == RING_EVENT:
                releases.append(record)
            dropped = fields.get("dropped")
            if record.logger == _SESSION_LOGGER and isinstance(dropped, int):
                if record.message == "session closed":
                    closed_count = dropped
                else:
                    noted += dropped
        drops = closed_count if closed_count is not None else noted
        first = records[0].time if records else None
        return cls(
            verdict,
            appraisal,
            records,
            profiles,
            file_bytes,
            first,
            last,
            dict(levels),
            drops,
            tuple(releases),
        )

    @property
    def session(self) -> str:
        """The session id."""
        return self.verdict.session

    @property
    def keep(self) -> str | None:
        """The Keep id from the header."""
        return self.verdict.header.keep_id if self.verdict.header is not None else None

    @property
    def launch_profile(self) -> str | None:
        """The profile the session started with."""
        return self.verdict.header.profile_name if self.verdict.header is not None else None

    @property
    def timeline(self) -> tuple[ProfileSpan, ...]:
        """The profile spans verification proved."""
        return self.verdict.timeline

    def haystack(self, index: int) -> str:
        """The lower-cased text a search looks in for record ``index``."""
        if not self._haystacks:
            self._haystacks.extend(_haystack(r) for r in self.records)
        return self._haystacks[index]


def _haystack(record: Record) -> str:
    parts = [record.source, record.logger, record.message]
    if record.fields:
        parts.append(json.dumps(dict(record.fields), ensure_ascii=False, default=str))
    if record.exception is not None:
        parts.append(record.exception.render())
    return "\n".join(parts).lower()


def parse_when(text: str, *, end: bool = False) -> float | None:
    """A time from a form: ISO 8601 (UTC unless it says otherwise), or empty for none.

    Args:
        text: ``2026-11-27T08:50``, ``2026-11-27 08:50:52``, ``...+01:00``, or ``""``.
        end: for an upper bound given to the minute, include that whole minute.

    Raises:
        FormatError: the text is not a time.
    """
    text = text.strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise FormatError(
            f"not a time: {text!r} (expected ISO 8601, e.g. 2026-11-27T08:50)"
        ) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    stamp = when.timestamp()
    # "until 08:50" from a minute-precision input means up to the end of that minute.
    if end and _TO_THE_MINUTE.fullmatch(text):
        stamp += 59.999999
    return stamp


def level_number(name: str) -> int:
    """The number of a level name (any case, ``warn`` and ``fatal`` too); ``""`` is 0.

    Raises:
        FormatError: an unknown name.
    """
    if not name:
        return 0
    upper = _ALIASES.get(name.upper(), name.upper())
    if upper not in LEVELS:
        raise FormatError(f"unknown level {name!r}: expected one of {', '.join(LEVELS)}")
    return LEVELS[upper]


@dataclass(frozen=True)
class RecordQuery:
    """A selection of a session's records.

    Attributes:
        min_level: only records at this level or above.
        text: only records whose text (message, logger, fields, traceback) contains this,
            ignoring case.
        since: only records at or after this time.
        until: only records at or before this time.
    """

    min_level: int = 0
    text: str = ""
    since: float | None = None
    until: float | None = None

    def select(self, data: SessionData) -> list[int]:
        """The positions of the records of ``data`` that match."""
        needle = self.text.lower()
        chosen = []
        for i, record in enumerate(data.records):
            if record.level < self.min_level:
                continue
            if self.since is not None and record.time < self.since:
                continue
            if self.until is not None and record.time > self.until:
                continue
            if needle and needle not in data.haystack(i):
                continue
            chosen.append(i)
        return chosen


def _size(path: Path) -> int:
    """A file's size, -1 when it is absent."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


class StoreModel:
    """The owner's view of one store, read with the key given once.

    Args:
        store: the store folder.
        key: the owner's private key (kept in memory only; never rendered).
        policy: what to appraise each session's evidence against (default: check what the
            evidence says and that it binds the header, without requiring a TEE).

    Raises:
        FormatError: the store is missing, empty, or holds foreign files.
    """

    def __init__(
        self, store: Path | str, key: OwnerPrivateKey, policy: AppraisalPolicy | None = None
    ) -> None:
        self.store = Path(store)
        self._key = key
        self._policy = policy or AppraisalPolicy()
        self._cache: dict[str, SessionData] = {}
        self._lock = threading.Lock()
        self._host: tuple[tuple[tuple[str, int, int], ...], HostView] | None = None
        if not self.session_ids():
            raise FormatError(f"{self.store}: store holds no sessions")

    def host(self) -> HostView:
        """What the host can read in the store (no key used)."""
        return host_view(self.store)

    def session_ids(self) -> list[str]:
        """The store's session ids, in store order."""
        return Store.open(self.store).sessions()

    def sessions(self) -> list[SessionData]:
        """Every session of the store, read again only where its file changed."""
        return [self._load(sid) for sid in self.session_ids()]

    def resolve(self, prefix: str) -> str:
        """The session id that ``prefix`` names.

        Raises:
            FormatError: no session, or more than one, starts with ``prefix``.
        """
        ids = self.session_ids()
        found = [s for s in ids if s.startswith(prefix.lower())] if prefix else []
        if len(found) != 1:
            what = "no session" if not found else f"{len(found)} sessions"
            raise FormatError(f"{what} in {self.store} start with {prefix!r}")
        return found[0]

    def session(self, prefix: str) -> SessionData:
        """One session, by id or unique prefix (see :meth:`resolve`)."""
        return self._load(self.resolve(prefix))

    def host_session(self, sid: str) -> SessionView:
        """What the host can read of one session (read again only when a file grew)."""
        store = Store.open(self.store)
        sizes = tuple(
            (s, _size(store.seal_path(s)), _size(store.index_path(s))) for s in store.sessions()
        )
        with self._lock:
            if self._host is None or self._host[0] != sizes:
                self._host = (sizes, self.host())
            view = self._host[1]
        found = [v for v in view.sessions if v.session == sid]
        if not found:
            raise FormatError(f"session {sid} is no longer in {self.store}")
        return found[0]

    def _load(self, sid: str) -> SessionData:
        store = Store.open(self.store)
        try:
            size = store.seal_path(sid).stat().st_size
        except FileNotFoundError as exc:
            raise FormatError(f"session {sid} is no longer in {self.store}") from exc
        with self._lock:
            cached = self._cache.get(sid)
            if cached is not None and cached.file_bytes == size:
                return cached
            data = self._read(sid, size)
            self._cache[sid] = data
            return data

    def _read(self, sid: str, size: int) -> SessionData:
        records: list[Record] = []
        profiles: list[str] = []
        verdict: Verdict | None = None
        reader = None
        for reader, record in read_store(self.store, self._key, sid):
            records.append(record)
            profiles.append(reader.profile or "")
        if reader is not None:
            verdict = reader.verdict()
        else:  # no record authenticated: verification still says why
            (verdict,) = verify_store(self.store, self._key, sid)
        appraisal = None
        if verdict.header is not None:
            appraisal = appraise(verdict.header, self._policy)
        return SessionData.build(verdict, appraisal, tuple(records), tuple(profiles), size)
