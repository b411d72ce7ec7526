"""A live sealed session inside the Keep: batching, the emission rhythm, backlog and drops.

Callers hand over rows (:meth:`SealedSession.submit`): an append to a deque, no system call and
no cryptography. A background thread wakes every ``flush_interval`` (or when a batch is full),
shapes the rows for the owner, encodes them as one batch and seals frames.

Two rhythms (docs/runtime.md explains the choice):

* without cover traffic, a record at ERROR or above is sealed and written before the logging
  call returns, and other records leave at the next interval or when a batch fills;
* with cover traffic, exactly one frame of the profile's bucket size leaves per interval, data or
  cover, and nothing else ever does: an ERROR waits for the next tick inside the Keep, so the
  host cannot tell that it happened. Capacity is then ``bucket / interval``; beyond it, records
  wait in a bounded backlog, and past that they are dropped and *counted*: the counts are sealed
  into the stream as a ``sealog`` record as soon as there is room.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from sealog.keep._shape import Shaper
from sealog.profile._model import Destination, StreamSettings
from sealog.seal._frames import FrameSealer
from sealog.seal._records import encode_batch
from sealog.seal._row import Row, make_row
from sealog.seal._vocabulary import ERROR, INFO, SESSION_LOGGER, WARNING

__all__ = ["FrameSink", "SealedSession"]

_BATCH_ROWS = 4096  # wake the sealer when this many rows wait: bounds memory, not latency
_MAX_QUEUED = 4 * _BATCH_ROWS  # past this, the submitting thread drains the queue itself
_MAX_UNPADDED = 256 * 1024  # largest unpadded frame's data


class FrameSink(Protocol):
    """Where sealed frames go: the host (a file in a store, a pipe, a socket)."""

    def write_frame(self, payload: bytes) -> None:
        """Append one frame payload."""

    def close(self) -> None:
        """No more frames will come."""


class SealedSession:
    """Seals rows into frames for one session.

    Args:
        sealer: the session's frame sealer.
        sink: where frames go.
        owner: the owner destination's rules (applied when rows are sealed).
        stream: the profile's stream settings.
        clock: monotonic clock (injected for tests).
        start: start the background emitter (tests may drive :meth:`tick` by hand).
    """

    def __init__(
        self,
        sealer: FrameSealer,
        sink: FrameSink,
        owner: Destination,
        stream: StreamSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        start: bool = True,
    ) -> None:
        self._sealer = sealer
        self._sink = sink
        self._shaper = Shaper(owner)
        self._stream = stream
        self._cover = stream.cover_traffic
        self._capacity = sealer.capacity or _MAX_UNPADDED
        self._queue: collections.deque[Row] = collections.deque()
        self._pending = bytearray()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._clock = clock
        self.records = 0
        self.dropped = 0
        self._dropped_unreported = 0
        self.frames = 0
        self.closed = False
        self._thread: threading.Thread | None = None
        if start:
            self._thread = threading.Thread(target=self._run, name="sealog-sealer", daemon=True)
            self._thread.start()

    def set_owner_rules(self, owner: Destination) -> None:
        """Apply another profile's owner rules to rows sealed from now on (a change order).

        Rows already handed over are shaped by the rules in force when they were handed over.
        The stream's shape (bucket, interval, cover traffic) stays as launched: it is part of
        what the host observes, and changing it would tell the host that something changed.
        """
        with self._lock:
            self._drain()
            self._shaper = Shaper(owner)

    def submit_shaped(self, rows: list[Row]) -> None:
        """Hand over rows already shaped for the owner (the flight recorder's contents)."""
        with self._lock:
            self._drain()
            if rows:
                self.records += len(rows)
                self._pending += encode_batch(rows)
        if not self._cover:
            self.flush()

    # -- the hot path ----------------------------------------------------------------------
    def submit(self, row: Row) -> None:
        """Hand one row over. Returns at once, except for ERROR and above without cover traffic,
        which are sealed and written before this returns."""
        queue = self._queue
        queue.append(row)
        if row[1] >= ERROR and not self._cover:
            self.flush()
        elif len(queue) >= _BATCH_ROWS:
            if len(queue) >= _MAX_QUEUED:
                # The callers outrun the sealer: they help it, so the queue never grows with
                # the number of records.
                self._catch_up()
            else:
                self._wake.set()

    def _catch_up(self) -> None:
        """Drain the queue now (and, without cover traffic, seal it); under cover traffic the
        frames still wait for the next tick."""
        if self._cover:
            with self._lock:
                if not self.closed:
                    self._drain()
        else:
            self.flush()

    # -- sealing ---------------------------------------------------------------------------
    def _drain(self) -> None:
        """Move queued rows into the pending byte stream (caller holds the lock)."""
        queue = self._queue
        if not queue and not self._dropped_unreported:
            return
        rows = []
        shape = self._shaper.shape
        popleft = queue.popleft
        while queue:
            shaped = shape(popleft())
            if shaped is not None:
                rows.append(shaped)
        if self._shaper.limited:
            rows.append(
                self._note(
                    f"{self._shaper.limited} records over the rate limit were not sealed",
                    "rate_limited",
                    self._shaper.limited,
                )
            )
            self._shaper.limited = 0
        if not rows and not self._dropped_unreported:
            return
        if self._cover:
            rows = self._bound_backlog(rows)
        if rows:
            self.records += len(rows)
            self._pending += encode_batch(rows)

    def _note(self, message: str, key: str, count: int) -> Row:
        fields = {key: count}
        return make_row(time.time(), WARNING, "sealog", SESSION_LOGGER, message, None, None, fields)

    def _bound_backlog(self, rows: list[Row]) -> list[Row]:
        room = self._stream.max_backlog - len(self._pending)
        notes: list[Row] = []
        if self._dropped_unreported and room > 256:
            notes.append(
                self._note(
                    f"{self._dropped_unreported} records dropped: backlog full",
                    "dropped",
                    self._dropped_unreported,
                )
            )
            self._dropped_unreported = 0
        if room >= len(encode_batch(notes + rows)):
            return notes + rows
        # Over capacity: keep ERROR and above while the backlog is under twice its bound,
        # drop the rest, and count every drop (the notes themselves are always kept).
        under_hard_bound = room + self._stream.max_backlog > 0
        kept = [r for r in rows if r[1] >= ERROR and under_hard_bound]
        lost = len(rows) - len(kept)
        self.dropped += lost
        self._dropped_unreported += lost
        return notes + kept

    def _emit(self, data: bytes, *, close: bool = False) -> None:
        self._sink.write_frame(self._sealer.seal(data, close=close))
        self.frames += 1

    def _emit_pending(self, limit: int | None = None) -> None:
        """Seal pending bytes into frames (at most ``limit`` frames)."""
        n = 0
        while self._pending and (limit is None or n < limit):
            chunk = bytes(self._pending[: self._capacity])
            del self._pending[: self._capacity]
            self._emit(chunk)
            n += 1

    def flush(self) -> None:
        """Seal everything handed over so far (without cover traffic), or make it ready for
        the next tick (with cover traffic, where an extra frame would tell the host something)."""
        with self._lock:
            if self.closed:
                return
            self._drain()
            if not self._cover:
                self._emit_pending()

    def tick(self) -> None:
        """One scheduled emission."""
        with self._lock:
            if self.closed:
                return
            self._drain()
            if self._cover:
                if self._pending:
                    self._emit_pending(limit=1)
                else:
                    self._emit(b"")  # a cover frame: same size, nothing inside
            else:
                self._emit_pending()

    def _run(self) -> None:
        interval = self._stream.flush_interval
        next_tick = self._clock() + interval
        while not self._stop.is_set():
            woke = self._wake.wait(max(0.0, next_tick - self._clock()))
            if self._stop.is_set():
                break
            if woke:
                self._wake.clear()
                self._catch_up()
                if self._clock() < next_tick:
                    continue
            self.tick()
            next_tick += interval
            if next_tick < self._clock():  # fell behind (suspended): resume the rhythm
                next_tick = self._clock() + interval

    @property
    def closing_frames(self) -> int:
        """Frames a session ends with under cover traffic: room for a full backlog, plus one."""
        return -(-self._stream.max_backlog // self._capacity) + 1

    def close(self, note: dict[str, Any] | None = None) -> None:
        """Seal everything left and the closing frame. Idempotent.

        With cover traffic the session always ends with the same number of bucket-sized frames
        (:attr:`closing_frames`, data or cover, the closing frame included), whatever was
        still waiting, so the end of a session tells the host nothing about the backlog. Only a
        backlog of ERROR records beyond ``max_backlog`` makes it longer.
        """
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            if self.closed:
                return
            self._drain()
            fields: dict[str, Any] = {"records": self.records + 1, "dropped": self.dropped}
            if note:
                fields.update(note)
            closing = make_row(
                time.time(), INFO, "sealog", SESSION_LOGGER, "session closed", None, None, fields
            )
            self._pending += encode_batch([closing])
            tail = 1
            while len(self._pending) > self._capacity:
                self._emit_pending(limit=1)
                tail += 1
            if self._cover:
                for _ in range(self.closing_frames - tail):
                    self._emit(b"")
            last = bytes(self._pending)
            self._pending.clear()
            self._emit(last, close=True)
            self.closed = True
        self._sink.close()
