"""The in-Keep backlog: rows admitted one by one, encoded ahead of the frames that carry them.

Rows are admitted (or dropped) one at a time against a byte bound, in the order they arrive,
so a burst keeps its *first* records and only what does not fit is dropped. Every row that
reaches admission gets a record number (0, 1, 2, ... in arrival order; the session's own notes,
logger ``sealog.session``, are not numbered), and the numbers of dropped rows are reported as
ranges in a sealed drop note, so the owner knows exactly which records are missing.

Admitted rows are encoded in small groups into :attr:`Backlog.ready`, the byte stream the
frames carry (compressed for padded sessions); the emitter only takes bytes from there, so a
frame never waits for encoding.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sealog._words import plural
from sealog.seal._compress import BatchCompressor, compact_row
from sealog.seal._records import encode_batch
from sealog.seal._row import Row, make_row
from sealog.seal._vocabulary import ERROR, SESSION_LOGGER, WARNING

__all__ = ["GROUP", "Backlog", "session_note"]

#: Rows encoded together; also the most rows whose size is only estimated at any time.
GROUP = 256
_ROW_BASE = 48  # time, level, source, brackets and commas of an encoded row
_STRUCTURED = 256  # what an exception or fields may add, before they are encoded


def session_note(message: str, level: int = WARNING, **fields: Any) -> Row:
    """A row of the session's own (a drop count, a failure to encode, the closing record)."""
    return make_row(
        time.time(), level, "sealog", SESSION_LOGGER, message, None, None, fields or None
    )


def _cost(row: Row) -> int:
    """Bytes a row may take before it is encoded: its text, plus a bound for structure."""
    try:
        cost = _ROW_BASE + len(row[3]) + len(row[4])
        if isinstance(row[5], str):
            cost += len(row[5])
        if row[6] is not None or row[7] is not None:
            cost += _STRUCTURED
        return cost
    except TypeError:
        return _ROW_BASE + _STRUCTURED


class Backlog:
    """Rows waiting for room in frames.

    Args:
        limit: bytes the backlog may hold before rows below ERROR are dropped (ERROR and above
            may use twice as much); None for no bound (sessions without cover traffic).
        compress: compress the encoded stream (padded sessions).
    """

    def __init__(self, limit: int | None, *, compress: bool) -> None:
        self._limit = limit
        self._compressor = BatchCompressor() if compress else None
        self._group: list[Row] = []
        self._group_cost = 0
        self._lock = threading.Lock()  # guards `ready` against the emitter's take()
        self.ready = bytearray()
        #: the number the next admitted or dropped row gets.
        self.next_number = 0
        #: rows admitted (notes included).
        self.admitted = 0
        #: rows dropped, in total.
        self.dropped = 0
        #: the most bytes the backlog held.
        self.peak = 0
        self._ranges: list[list[int]] = []

    @property
    def size(self) -> int:
        """Bytes held: encoded bytes not yet in frames, plus the estimate for the open group."""
        return len(self.ready) + self._group_cost

    def admit(self, row: Row) -> bool:
        """Admit one row, or drop and count it. Returns whether it was admitted."""
        number = self.next_number
        self.next_number = number + 1
        cost = _cost(row)
        if self._limit is not None:
            bound = self._limit * 2 if row[1] >= ERROR else self._limit
            if self.size + cost > bound:
                self.dropped += 1
                ranges = self._ranges
                if ranges and ranges[-1][1] == number - 1:
                    ranges[-1][1] = number
                else:
                    ranges.append([number, number])
                return False
        self._add(row, cost)
        return True

    def note(self, row: Row) -> None:
        """Add one of the session's own rows: never dropped, never numbered."""
        self._add(row, _cost(row))

    def _add(self, row: Row, cost: int) -> None:
        self._group.append(row)
        self._group_cost += cost
        self.admitted += 1
        size = self.size
        self.peak = max(self.peak, size)
        if len(self._group) >= GROUP:
            self.encode()

    def drop_note(self) -> Row | None:
        """A note naming the rows dropped since the last note (None if none were)."""
        if not self._ranges:
            return None
        ranges, self._ranges = self._ranges, []
        count = sum(b - a + 1 for a, b in ranges)
        shown = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges[:8])
        more = "" if len(ranges) <= 8 else f" and {len(ranges) - 8} more ranges"
        return session_note(
            f"{plural(count, 'record')} dropped: backlog full (records {shown}{more})",
            dropped=count,
            ranges=ranges,
        )

    def encode(self) -> None:
        """Encode the open group into :attr:`ready`."""
        rows, self._group = self._group, []
        if not rows:
            return
        data = self._encode(rows)
        with self._lock:
            self.ready += data
            self._group_cost = 0

    def _encode(self, rows: list[Row]) -> bytes:
        if self._compressor is not None:
            rows = [compact_row(r) for r in rows]
        try:
            batch = encode_batch(rows)
        except Exception as exc:  # one bad row must not stop the stream
            batch = encode_batch([_safe(r, exc) for r in rows])
        return self._compressor.compress(batch) if self._compressor is not None else batch

    def finish(self) -> None:
        """Encode what is open and end the compressed stream (at the session's close)."""
        self.encode()
        if self._compressor is not None:
            tail = self._compressor.finish()
            with self._lock:
                self.ready += tail

    def take(self, n: int) -> bytes:
        """Up to ``n`` encoded bytes for one frame."""
        with self._lock:
            chunk = bytes(self.ready[:n])
            del self.ready[:n]
        return chunk


def _safe(row: Row, exc: Exception) -> Row:
    """The row, or a note in its place when it cannot be encoded at all."""
    try:
        encode_batch([row])
    except Exception:  # the cause is named in the note
        return session_note(f"a record could not be encoded: {type(exc).__name__}", ERROR)
    return row
