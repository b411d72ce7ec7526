"""Diff at scale: aligning two sessions as they are read, in bounded memory.

:func:`~sealog.owner.diff_sessions` holds both sessions and aligns them with
:class:`difflib.SequenceMatcher`, which is exact but quadratic in the worst case and keeps every
record. A session of three quarters of a million records against a short one needs neither:
:func:`diff_streams` reads both sides once, keeps a look-ahead window of each, and at every
point where the heads differ resynchronises on the nearest record the other side also has
within the window:

1. heads equal (after :func:`~sealog.owner.normalise_record`): both match, move on;
2. A's head appears in B's window at distance j, B's head in A's window at distance i: the
   shorter side of the detour is "only in" records (j records only in B, or i only in A);
3. neither head appears in the other window: both heads are "only in" records (a record that
   changed between the runs).

Memory is the two windows, ``context`` records before the current point, and the differences
kept for printing (``max_items``); counts cover every difference. The same records are left out
of the alignment as in :mod:`sealog.owner._diff` (fingerprint, trace summaries, repeated trace
events).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealog._words import plural
from sealog.errors import FormatError
from sealog.host._store import Store
from sealog.owner._diff import (
    DiffResult,
    Divergence,
    Located,
    diff_sessions,
    flatten,
    normalise_record,
)
from sealog.owner._reader import SessionReader, Verdict
from sealog.owner._store_ops import file_size, readers
from sealog.owner._trace_diff import is_failing_call
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import Record
from sealog.seal._vocabulary import FINGERPRINT_LOGGER, TRACE_LOGGER

__all__ = ["DiffReport", "StoreDiff", "diff_stores", "diff_streams"]

_TRACE_SUMMARY = "trace summary:"
#: Look-ahead per side: a detour longer than this is reported as records only in one side.
WINDOW = 4096
#: Two sessions whose sealed files are together at most this large (about 50,000 records of a
#: development session) are aligned exactly (:func:`diff_sessions`), holding every record.
EXACT_BYTES = 8 << 20
#: Failing traced calls remembered per side, to name the first one the other side lacks.
_FAILING_KEPT = 65_536

_Item = tuple[int, Record, tuple[Any, ...]]


@dataclass(frozen=True)
class DiffReport(DiffResult):
    """A :class:`~sealog.owner.DiffResult` with counts, from :func:`diff_streams`.

    ``only_a`` and ``only_b`` hold at most ``max_items`` records each (the first ones); the
    counts cover all of them.

    Attributes:
        records_a: records read from A.
        records_b: records read from B.
        only_a_count: records only A has.
        only_b_count: records only B has.
        exact: True when the sessions were aligned exactly (:func:`diff_sessions`), False when
            streamed through a look-ahead window.
    """

    records_a: int = 0
    records_b: int = 0
    only_a_count: int = 0
    only_b_count: int = 0
    exact: bool = False

    @classmethod
    def from_result(
        cls, result: DiffResult, records_a: int, records_b: int, max_items: int | None = None
    ) -> DiffReport:
        """The report of an exact comparison, its lists cut to ``max_items``."""
        cut = slice(None) if max_items is None else slice(max_items)
        return cls(
            result.first_divergence,
            result.only_a[cut],
            result.only_b[cut],
            result.fingerprint_changes,
            result.failing_only_a,
            result.failing_only_b,
            records_a=records_a,
            records_b=records_b,
            only_a_count=len(result.only_a),
            only_b_count=len(result.only_b),
            exact=True,
        )

    def summary(self) -> str:
        """One line of counts for people."""
        changes = len(self.fingerprint_changes)
        return (
            f"{plural(self.records_a, 'record')} in A, {self.records_b} in B: "
            f"{self.only_a_count} only in A, {self.only_b_count} only in B, "
            f"{changes} fingerprint {'item differs' if changes == 1 else 'items differ'}"
        )

    def counts(self) -> dict[str, int]:
        """The counts as a JSON object."""
        return {
            "records_a": self.records_a,
            "records_b": self.records_b,
            "only_a": self.only_a_count,
            "only_b": self.only_b_count,
        }


class _Side:
    """One session as the alignment reads it: a look-ahead window over its aligned records."""

    def __init__(self, records: Iterable[Record], window: int) -> None:
        self._source = self._aligned(iter(records))
        self._window = window
        self.buf: deque[_Item] = deque()
        self._where: dict[tuple[Any, ...], deque[int]] = {}
        self._base = 0  # alignment position of buf[0]
        self._end = 0  # alignment position after the last item in buf
        self.read = 0  # records taken from the source (including those left out)
        self.fingerprint: dict[str, Any] = {}
        self.history: deque[Located] = deque()
        self.exhausted = False
        self.failing: list[_Item] = []  # failing traced calls, in order (bounded)
        self.failing_keys: set[tuple[Any, ...]] = set()

    def _aligned(self, records: Iterator[Record]) -> Iterator[_Item]:
        seen_trace: set[tuple[Any, ...]] = set()
        for record in records:
            index = self.read
            self.read += 1
            if record.logger == FINGERPRINT_LOGGER:
                if not self.fingerprint and record.source == "runtime":
                    flatten("", dict(record.fields), self.fingerprint)
                continue
            if (
                record.logger == TRACE_LOGGER
                and record.source == "runtime"
                and record.message.startswith(_TRACE_SUMMARY)
            ):
                continue
            key = normalise_record(record)
            if is_failing_call(record) and len(self.failing) < _FAILING_KEPT:
                self.failing.append((index, record, key))
                self.failing_keys.add(key)
            if record.logger == TRACE_LOGGER and record.source == "runtime":
                if key in seen_trace:
                    continue
                seen_trace.add(key)
            yield index, record, key

    def fill(self) -> None:
        """Top the window up from the source."""
        if self.exhausted:
            return
        buf = self.buf
        while len(buf) < self._window:
            item = next(self._source, None)
            if item is None:
                self.exhausted = True
                return
            buf.append(item)
            self._where.setdefault(item[2], deque()).append(self._end)
            self._end += 1

    def find(self, key: tuple[Any, ...]) -> int | None:
        """Distance from the head to the first record with ``key`` in the window."""
        places = self._where.get(key)
        return places[0] - self._base if places else None

    def pop(self, context: int) -> Located:
        """Take the head."""
        index, record, key = self.buf.popleft()
        places = self._where[key]
        places.popleft()
        if not places:
            del self._where[key]
        self._base += 1
        located = Located(index, record)
        if context:
            self.history.append(located)
            if len(self.history) > context:
                self.history.popleft()
        return located

    def around(self, context: int) -> tuple[Located, ...]:
        """Up to ``context`` records before the head and ``context`` from it on."""
        ahead = [Located(i, r) for i, r, _ in list(self.buf)[:context]]
        return (*self.history, *ahead)

    def head_index(self) -> int:
        """Position of the head in the session, or the session's length once it has ended."""
        if self.buf:
            return self.buf[0][0]
        for _ in self._source:  # drain: the length counts what was left out too
            pass
        return self.read


def diff_streams(
    a: Iterable[Record],
    b: Iterable[Record],
    *,
    context: int = 3,
    max_items: int | None = None,
    window: int = WINDOW,
    progress: Callable[[], None] | None = None,
) -> DiffReport:
    """Align two sessions' records as they are read, in bounded memory.

    Args:
        a: the records of session A, in order (any iterable: a reader's generator is fine).
        b: the records of session B.
        context: how many records to show before and from the divergence point, on each side.
        max_items: keep at most this many "only in" records per side (None: all).
        window: look-ahead per side; a detour longer than this shows as differences.
        progress: called every few thousand records.

    Returns:
        The comparison with counts; ``report.same`` is True when nothing differs.

    Raises:
        FormatError: ``context``, ``max_items`` or ``window`` out of range.
    """
    if context < 0:
        raise FormatError(f"context must be 0 or more records, not {context}")
    if max_items is not None and max_items < 0:
        raise FormatError(f"max must be 0 or more records, not {max_items}")
    if window < max(1, context):
        raise FormatError(f"window must be at least the context ({context}), not {window}")
    side_a, side_b = _Side(a, window), _Side(b, window)
    first: Divergence | None = None
    only_a: list[Located] = []
    only_b: list[Located] = []
    counts = {"a": 0, "b": 0}
    room = float("inf") if max_items is None else max_items

    def drop(side: _Side, n: int, into: list[Located], name: str) -> None:
        for _ in range(n):
            located = side.pop(context)
            counts[name] += 1
            if len(into) < room:
                into.append(located)

    steps = 0
    while True:
        side_a.fill()
        side_b.fill()
        buf_a, buf_b = side_a.buf, side_b.buf
        if not buf_a and not buf_b:
            break
        steps += 1
        if progress is not None and not steps & 4095:
            progress()
        if buf_a and buf_b and buf_a[0][2] == buf_b[0][2]:
            side_a.pop(context)
            side_b.pop(context)
            continue
        if first is None:
            first = Divergence(
                side_a.head_index(),
                side_b.head_index(),
                side_a.around(context),
                side_b.around(context),
            )
        if not buf_a:
            drop(side_b, len(buf_b), only_b, "b")
            continue
        if not buf_b:
            drop(side_a, len(buf_a), only_a, "a")
            continue
        j = side_b.find(buf_a[0][2])
        i = side_a.find(buf_b[0][2])
        if j is not None and (i is None or j <= i):
            drop(side_b, j, only_b, "b")
        elif i is not None:
            drop(side_a, i, only_a, "a")
        else:
            drop(side_a, 1, only_a, "a")
            drop(side_b, 1, only_b, "b")
    fp_a, fp_b = side_a.fingerprint, side_b.fingerprint
    changes = {
        k: (fp_a.get(k), fp_b.get(k))
        for k in sorted(fp_a.keys() | fp_b.keys())
        if fp_a.get(k) != fp_b.get(k)
    }
    return DiffReport(
        first,
        tuple(only_a),
        tuple(only_b),
        changes,
        _first_failing_only(side_a, side_b),
        _first_failing_only(side_b, side_a),
        records_a=side_a.read,
        records_b=side_b.read,
        only_a_count=counts["a"],
        only_b_count=counts["b"],
    )


def _first_failing_only(mine: _Side, theirs: _Side) -> Located | None:
    """The first failing traced call of ``mine`` whose normalised form never fails in
    ``theirs`` (as :func:`~sealog.owner.diff_sessions` names it)."""
    for index, record, key in mine.failing:
        if key not in theirs.failing_keys:
            return Located(index, record)
    return None


@dataclass(frozen=True)
class StoreDiff:
    """:func:`diff_stores`'s answer: the comparison, and how far each session verified.

    Attributes:
        report: the comparison of what authenticated on each side.
        verdict_a: session A's verdict (records after a failure are not compared).
        verdict_b: session B's verdict.
    """

    report: DiffReport
    verdict_a: Verdict
    verdict_b: Verdict


def _one_session(store: Path, key: OwnerPrivateKey, session: str | None) -> SessionReader:
    if session is None:
        count = len(Store.open(store).sessions())
        if count > 1:
            raise FormatError(f"{store}: store has {count} sessions: name one with STORE:SESSION")
    (reader,) = readers(store, key, session)
    return reader


def diff_stores(
    a: tuple[Path | str, str | None],
    b: tuple[Path | str, str | None],
    key: OwnerPrivateKey,
    *,
    context: int = 3,
    max_items: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    exact_bytes: int = EXACT_BYTES,
) -> StoreDiff:
    """Compare one session of store A with one of store B.

    Sessions whose sealed files are together at most ``exact_bytes`` long are aligned exactly
    with :func:`~sealog.owner.diff_sessions` (which also lets a traced call or an output line
    that only changed place go); longer ones are streamed through :func:`diff_streams`, in
    bounded memory.

    Args:
        a: ``(store, session)``: the session may be None when the store holds only one.
        b: the same for B.
        key: the owner's private key.
        context: records shown around the divergence.
        max_items: keep at most this many "only in" records per side.
        progress: called now and then with ``(bytes done, bytes in all)``.
        exact_bytes: the largest pair of sessions (sealed bytes) aligned exactly.

    Raises:
        FormatError: a store is missing or holds several sessions and none is named; a
            negative ``context`` or ``max_items``.
    """
    if max_items is not None and max_items < 0:
        raise FormatError(f"max must be 0 or more records, not {max_items}")
    reader_a = _one_session(Path(a[0]), key, a[1])
    reader_b = _one_session(Path(b[0]), key, b[1])
    total = file_size(reader_a.path) + file_size(reader_b.path)

    def tick() -> None:
        if progress is not None:
            progress(reader_a.position + reader_b.position, total)

    if total <= exact_bytes:
        records_a, records_b = list(reader_a.read()), list(reader_b.read())
        exact = diff_sessions(records_a, records_b, context=context)
        report = DiffReport.from_result(exact, len(records_a), len(records_b), max_items)
    else:
        report = diff_streams(
            reader_a.read(),
            reader_b.read(),
            context=context,
            max_items=max_items,
            progress=tick if progress is not None else None,
        )
    tick()
    return StoreDiff(report, reader_a.verdict(), reader_b.verdict())
