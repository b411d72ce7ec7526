"""Choosing records: by level, time, logger, text, source and Keep, across sessions.

A store holds the sessions of one or several Keeps (a Keep restarted is a new session). The
owner asks questions across them ("what happened in the last ten minutes, anywhere?"), so the
records of every chosen session are merged by their time, each tagged with its Keep and session.
Each session's records stay in their sealed order; the merge only interleaves sessions.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sealog.errors import FormatError
from sealog.owner._output import RecordView
from sealog.owner._reader import SessionReader
from sealog.owner._store_ops import readers
from sealog.owner._timeline import TimelineChecker
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import Record

__all__ = [
    "LEVEL_NAMES",
    "Selection",
    "parse_level",
    "parse_time",
    "profile_at",
    "select_records",
    "session_records",
]

#: Level names the owner may type (any case), with the usual aliases.
LEVEL_NAMES: dict[str, int] = {
    "DEBUG": 10,
    "INFO": 20,
    "WARNING": 30,
    "WARN": 30,
    "ERROR": 40,
    "CRITICAL": 50,
    "FATAL": 50,
}

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_level(name: str) -> int:
    """A level number from a name in any case (``warn`` and ``fatal`` too) or a number.

    Raises:
        FormatError: not a level.
    """
    text = name.strip()
    if text.isdigit():
        return int(text)
    level = LEVEL_NAMES.get(text.upper())
    if level is None:
        known = "debug, info, warning (warn), error, critical (fatal)"
        raise FormatError(f"unknown level {name!r}: expected one of {known}, or a number")
    return level


def parse_time(text: str, *, now: float | None = None) -> float:
    """Seconds since the epoch from ISO 8601 (``2026-05-01T10:00``, UTC unless it says
    otherwise) or a time ago (``30s``, ``10m``, ``2h``, ``1d``, ``1w``).

    Args:
        text: what the owner typed.
        now: the current time (defaults to the clock), for relative times.

    Raises:
        FormatError: neither form.
    """
    m = _RELATIVE.match(text)
    if m:
        ago = float(m.group(1)) * _UNIT[m.group(2).lower()]
        return (time.time() if now is None else now) - ago
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise FormatError(
            f"{text!r}: not a time: expected ISO 8601 (2026-05-01T10:00:00Z) or a time ago "
            "(30s, 10m, 2h, 1d)"
        ) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


@dataclass(frozen=True)
class Selection:
    """Which records to show. Empty means everything.

    Attributes:
        min_level: records at this level or above.
        since: records logged at or after this time (seconds since the epoch).
        until: records logged before this time.
        loggers: logger names; a name also matches its children (``app`` matches ``app.db``).
        grep: a regular expression searched in the message and the exception's text.
        sources: ``workload``, ``runtime`` or ``sealog``.
        keeps: Keep ids (or their prefixes).
    """

    min_level: int = 0
    since: float | None = None
    until: float | None = None
    loggers: tuple[str, ...] = ()
    grep: re.Pattern[str] | None = None
    sources: tuple[str, ...] = ()
    keeps: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls,
        *,
        level: str | None = None,
        since: str | None = None,
        until: str | None = None,
        loggers: Iterable[str] = (),
        grep: str | None = None,
        sources: Iterable[str] = (),
        keeps: Iterable[str] = (),
        now: float | None = None,
    ) -> Selection:
        """A selection from what the owner typed on the command line.

        Raises:
            FormatError: a level, time or regular expression that does not parse.
        """
        pattern = None
        if grep is not None:
            try:
                pattern = re.compile(grep)
            except re.error as exc:
                raise FormatError(f"--grep {grep!r}: not a regular expression ({exc})") from exc
        known = {"workload", "runtime", "sealog"}
        for source in sources:
            if source not in known:
                raise FormatError(f"unknown source {source!r}: expected one of {sorted(known)}")
        start = None if since is None else parse_time(since, now=now)
        end = None if until is None else parse_time(until, now=now)
        if start is not None and end is not None and end < start:
            raise FormatError("--until is before --since: no record can match")
        return cls(
            min_level=0 if level is None else parse_level(level),
            since=start,
            until=end,
            loggers=tuple(loggers),
            grep=pattern,
            sources=tuple(sources),
            keeps=tuple(keeps),
        )

    def wants_keep(self, keep: str) -> bool:
        """Whether records of this Keep are wanted."""
        return not self.keeps or any(keep.startswith(k) for k in self.keeps)

    def matcher(self) -> Callable[[Record], bool] | None:
        """A test for one record, or None when every record is wanted (the fast path)."""
        tests: list[Callable[[Record], bool]] = []
        if self.min_level:
            floor = self.min_level
            tests.append(lambda r: r.level >= floor)
        if self.since is not None:
            since = self.since
            tests.append(lambda r: r.time >= since)
        if self.until is not None:
            until = self.until
            tests.append(lambda r: r.time < until)
        if self.sources:
            sources = frozenset(self.sources)
            tests.append(lambda r: r.source in sources)
        if self.loggers:
            names = tuple(self.loggers)
            prefixes = tuple(n + "." for n in names)
            tests.append(lambda r: r.logger in names or r.logger.startswith(prefixes))
        if self.grep is not None:
            search = self.grep.search

            def found(r: Record) -> bool:
                if search(r.message):
                    return True
                return r.exception is not None and bool(search(r.exception.render()))

            tests.append(found)
        if not tests:
            return None
        if len(tests) == 1:
            return tests[0]
        return lambda r: all(t(r) for t in tests)


def profile_at(timeline: TimelineChecker | None, time: float) -> str:
    """The profile in force when a record of ``time`` was logged.

    Records released from the flight recorder by an order arrive after the change to the new
    profile, but were logged before it: the time of the record decides, not where it arrived.
    """
    if timeline is None:
        return ""
    spans = timeline.spans
    if len(spans) == 1 or time >= spans[-1].time:
        return timeline.current
    for span in reversed(spans):
        if time >= span.time:
            return span.profile
    return spans[0].profile


def session_records(reader: SessionReader, selection: Selection) -> Iterator[RecordView]:
    """The selected records that ``reader`` can read now, tagged with their session and Keep.

    Call again after more data has arrived (``--follow``): the reader continues where it
    stopped; consume the generator to its end before that. Nothing is yielded for a Keep the
    selection does not want.
    """
    wants = selection.matcher()
    session = reader.session
    records = reader.read()
    # Every record is read even when none is wanted: a reader left in the middle of a frame
    # could not continue where it stopped, and the verdict needs the whole session.
    first = next(records, None)
    if first is None:
        return
    header, timeline = reader.header, reader.timeline
    keep = header.keep_id if header is not None else ""
    launch = header.profile_name if header is not None else ""
    if not selection.wants_keep(keep):
        for _ in records:
            pass
        return
    spans = timeline.spans if timeline is not None else [None]
    # A view is made per record printed: tuple.__new__ skips the named tuple's Python-level
    # constructor, which was a measurable part of reading.
    new = tuple.__new__
    for record in itertools.chain((first,), records):
        if wants is not None and not wants(record):
            continue
        if timeline is None:
            profile = ""
        elif len(spans) == 1:
            profile = timeline.current  # the usual case: one profile all along
        else:
            profile = profile_at(timeline, record.time)
        yield new(RecordView, (session, keep, profile, record, launch))


def _by_time(view: RecordView) -> float:
    return view.record.time


def select_records(
    store: Path | str,
    key: OwnerPrivateKey,
    selection: Selection | None = None,
    *,
    session: str | None = None,
    merge: bool = True,
) -> tuple[list[SessionReader], Iterator[RecordView]]:
    """The selected records of a store's sessions, merged by time.

    Args:
        store: the store folder.
        key: the owner's private key.
        selection: which records (default: all).
        session: only this session (an id or unique prefix).
        merge: merge the sessions by time; False gives them one after the other.

    Returns:
        The readers (ask each for its :meth:`~SessionReader.verdict` once the records are
        consumed) and the records, each tagged with its session, Keep and profile.

    Raises:
        FormatError: the store is missing, empty, or holds foreign files.
    """
    chosen = readers(store, key, session)
    sel = selection or Selection()
    streams = [session_records(r, sel) for r in chosen]
    if len(streams) == 1:
        return chosen, streams[0]
    if not merge:
        return chosen, itertools.chain.from_iterable(streams)
    return chosen, heapq.merge(*streams, key=_by_time)
