"""A live sealed session inside the Keep: batching, the emission rhythm, backlog and drops.

Callers hand over rows (:meth:`SealedSession.submit`): an append to a deque, no system call and
no cryptography. Rows are then *packed* (shaped for the owner, admitted one by one into the
backlog, encoded and, in padded sessions, compressed) and *emitted* (sealed into frames).

Two rhythms (see docs/runtime.md and docs/performance.md):

* without cover traffic, a record at ERROR or above is sealed and written before the logging
  call returns, and other records leave at the next interval or when a batch fills;
* with cover traffic, frames of the profile's bucket size leave on a fixed schedule, data or
  cover, and nothing else ever does: an ERROR waits inside the Keep for the next frame. Two
  threads do the work: the *packer* wakes several times per interval and when rows pile up;
  the *emitter* only takes bytes that are already encoded. Under ``sealog run`` it seals each
  frame half an interval early and a helper process writes it at its due time
  (``_timed_writer.py``); in-process it writes a frame sealed one interval earlier. Either
  way, when a frame leaves does not depend on how much was logged. Past the backlog's bound,
  records are dropped and counted exactly (by record number) in sealed notes; under
  ``overflow = "step"`` the rate also moves along the profile's ladder.

The session ends with a frame count that is a multiple of the profile's ``pad_multiple``.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from sealog._words import plural
from sealog.keep._backlog import Backlog, session_note
from sealog.keep._rate import next_level
from sealog.keep._shape import Shaper
from sealog.keep._timed_writer import TimedWriter
from sealog.profile._model import Destination, Overflow, StreamSettings
from sealog.seal._frames import FrameSealer
from sealog.seal._row import Row
from sealog.seal._vocabulary import ERROR, INFO

__all__ = ["AppendSink", "FrameSink", "SealedSession"]

_BATCH_ROWS = 4096  # wake the packer when this many rows wait: bounds memory, not latency
_MAX_QUEUED = 4 * _BATCH_ROWS  # past this, the submitting thread packs the queue itself
_MAX_UNPADDED = 256 * 1024  # largest unpadded frame's data
_PACKS_PER_INTERVAL = 4  # the packer's wake-ups per interval under cover traffic


class FrameSink(Protocol):
    """Where sealed frames go: the host (a file in a store, a pipe, a socket)."""

    def write_frame(self, payload: bytes) -> None:
        """Append one frame payload."""

    def close(self) -> None:
        """No more frames will come."""


@runtime_checkable
class AppendSink(Protocol):
    """A sink whose frames are appended to a file descriptor (the store's session file): a
    helper process can then write them at their due time (:class:`TimedWriter`)."""

    def fileno(self) -> int:
        """The descriptor frames are appended to."""

    def encode_frame(self, payload: bytes) -> bytes:
        """The bytes appended for one frame."""

    def frame_written(self, size: int, when: float) -> None:
        """A helper appended a frame of ``size`` at unix time ``when``."""


class SealedSession:
    """Seals rows into frames for one session.

    Args:
        sealer: the session's frame sealer.
        sink: where frames go.
        owner: the owner destination's rules (applied when rows are packed).
        stream: the profile's stream settings.
        clock: monotonic clock of the emission schedule (injected for tests).
        start: start the background threads (tests may drive :meth:`tick` by hand).
        timed: under cover traffic, with the system's monotonic clock and a sink that appends
            to a file, have a helper process write each frame at its due time (``sealog run``:
            see ``_timed_writer.py``).
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
        timed: bool = False,
    ) -> None:
        self._sealer = sealer
        self._sink = sink
        self._shaper = Shaper(owner)
        self._stream = stream
        self._cover = stream.cover_traffic
        self._capacity = sealer.capacity or _MAX_UNPADDED
        self._backlog = Backlog(
            stream.max_backlog if self._cover else None, compress=stream.padding
        )
        self._queue: collections.deque[Row] = collections.deque()
        self._pack_lock = threading.Lock()
        self._seal_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._clock = clock
        self._levels = stream.step_levels if stream.overflow is Overflow.STEP else (1,)
        self._hold = max(1, round(stream.step_hold / stream.flush_interval))
        self._level = 0
        self._hold_ticks = 0
        self.frames = 0
        self.closed = False
        self._ahead: bytes | None = None  # the next scheduled frame, sealed, not yet written
        self._threads: list[threading.Thread] = []
        self._writer: TimedWriter | None = None
        if (
            start
            and timed
            and self._cover
            and clock is time.monotonic
            and isinstance(sink, AppendSink)
        ):
            self._writer = TimedWriter(sink.fileno(), sink.frame_written)
            self._append = sink
        self._helper = self._writer
        if start:
            emit = self._emit_loop if self._writer is None else self._send_loop
            targets = (self._pack_loop, emit) if self._cover else (self._plain_loop,)
            for target in targets:
                thread = threading.Thread(target=target, name="sealog-sealer", daemon=True)
                self._threads.append(thread)
                thread.start()

    # -- what callers and the closing record read ----------------------------------------
    @property
    def records(self) -> int:
        """Rows sealed or waiting to be (the session's own notes included)."""
        return self._backlog.admitted

    @property
    def dropped(self) -> int:
        """Rows dropped because the backlog was full."""
        return self._backlog.dropped

    @property
    def level(self) -> int:
        """Frames per interval at the moment (1 unless ``overflow = "step"`` stepped up)."""
        return self._levels[self._level]

    def set_owner_rules(self, owner: Destination) -> None:
        """Apply another profile's owner rules to rows sealed from now on (a change order).

        Rows already handed over are shaped by the rules in force when they were handed over.
        The stream's shape (bucket, interval, cover traffic) stays as launched: it is part of
        what the host observes, and changing it would tell the host that something changed.
        """
        with self._pack_lock:
            self._pack_queue()
            self._shaper = Shaper(owner)

    def submit_shaped(self, rows: list[Row]) -> None:
        """Hand over rows already shaped for the owner (the flight recorder's contents)."""
        with self._pack_lock:
            self._pack_queue()
            for row in rows:
                self._backlog.admit(row)
            self._finish_pass()
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
                # The callers outrun the packer: they help it, so the queue never grows with
                # the number of records. Under cover traffic this never touches the emitter.
                if self._cover:
                    self.pack()
                else:
                    self.flush()
            else:
                self._wake.set()

    # -- packing ---------------------------------------------------------------------------
    def pack(self) -> None:
        """Shape, admit and encode every queued row (frames are not written here)."""
        with self._pack_lock:
            if not self.closed:
                self._pack_queue()

    def _pack_queue(self) -> None:
        """Move queued rows into the backlog (caller holds the pack lock)."""
        queue = self._queue
        if not queue:
            return
        backlog = self._backlog
        shape = self._shaper.shape
        admit = backlog.admit
        popleft = queue.popleft
        yields = bool(self._threads)
        done = 0
        while queue:
            row = popleft()
            try:
                shaped = shape(row)
            except Exception as exc:  # a bad row must not stop the stream
                backlog.note(session_note(f"a record could not be shaped: {type(exc).__name__}"))
                continue
            if shaped is not None:
                admit(shaped)
            done += 1
            if yields and not done & 1023:
                time.sleep(0)  # let the emitter in on time: it may be waiting for the GIL
        self._finish_pass()

    def _finish_pass(self) -> None:
        backlog = self._backlog
        if self._shaper.limited:
            count = self._shaper.limited
            self._shaper.limited = 0
            backlog.note(
                session_note(
                    f"{plural(count, 'record')} over the rate limit "
                    f"{'was' if count == 1 else 'were'} not sealed", rate_limited=count
                )
            )
        note = backlog.drop_note()
        if note is not None:
            backlog.note(note)
        backlog.encode()

    # -- emitting --------------------------------------------------------------------------
    def _emit(self, data: bytes, *, close: bool = False) -> None:
        self._sink.write_frame(self._sealer.seal(data, close=close))
        self.frames += 1

    def flush(self) -> None:
        """Seal everything handed over so far (without cover traffic), or make it ready for
        the next frame (with cover traffic, where an extra frame would tell the host something)."""
        self.pack()
        if self._cover:
            return
        with self._seal_lock:
            if self.closed:
                return
            while self._backlog.ready:
                self._emit(self._backlog.take(self._capacity))

    def tick(self) -> None:
        """One scheduled emission: with cover traffic, exactly one frame, data or cover.

        Without background threads (``start=False``) the queue is packed first, so a test
        driving ticks by hand sees what it logged in the next frame.
        """
        if not self._cover:
            self.flush()
            return
        if not self._threads:
            self.pack()
        self._emit_scheduled()

    def _emit_scheduled(self) -> None:
        """One scheduled frame, sealed now (what :meth:`tick` does)."""
        with self._seal_lock:
            if self.closed:
                return
            self._emit(self._backlog.take(self._capacity))
            self._after_scheduled()

    def _emit_prepared(self) -> None:
        """One scheduled frame, sealed one interval ahead: when it is due, the emitter only
        writes it, then seals the next one with what is ready by then."""
        with self._seal_lock:
            if self.closed:
                return
            payload = self._ahead if self._ahead is not None else self._seal_next()
            self._ahead = None
            self._sink.write_frame(payload)
            self._after_scheduled()
            self._ahead = self._seal_next()

    def _seal_next(self) -> bytes:
        payload = self._sealer.seal(self._backlog.take(self._capacity))
        self.frames += 1
        return payload

    def _after_scheduled(self) -> None:
        """Count the tick; at the end of a hold, choose the rate of the next (``step``)."""
        self._hold_ticks += 1
        if self._hold_ticks >= self._hold * self._levels[self._level]:
            self._hold_ticks = 0
            self._level = next_level(self._levels, self._level, self._pending_frames(), self._hold)

    def _pending_frames(self) -> int:
        return -(-self._backlog.size // self._capacity)

    # -- background threads ----------------------------------------------------------------
    def _plain_loop(self) -> None:
        interval = self._stream.flush_interval
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            self._guarded(self.flush)

    def _pack_loop(self) -> None:
        period = self._stream.flush_interval / _PACKS_PER_INTERVAL
        while not self._stop.is_set():
            self._wake.wait(period)
            self._wake.clear()
            if self._stop.is_set():
                break
            self._guarded(self.pack)

    def _emit_loop(self) -> None:
        clock = self._clock
        due = clock()
        while True:
            interval = self._stream.flush_interval / self._levels[self._level]
            due += interval
            if self._stop.wait(max(0.0, due - clock())):
                break
            self._guarded(self._emit_prepared)
            if clock() - due > interval:  # fell behind (suspended): resume the rhythm
                due = clock()

    def _send_loop(self) -> None:
        """The emitter with a helper process: seal each frame half an interval before it is
        due and hand it over; the helper writes it on time. Should the helper be gone, frames
        are written from here, on the schedule, so the stream stays whole."""
        clock = self._clock
        due = clock()
        while True:
            interval = self._stream.flush_interval / self._levels[self._level]
            due += interval
            lead = interval / 2 if self._writer is not None else 0.0
            if self._stop.wait(max(0.0, due - lead - clock())):
                break
            self._guarded(lambda due=due: self._send_scheduled(due))  # type: ignore[misc]
            if clock() - due > interval:  # fell behind (suspended): resume the rhythm
                due = clock()

    def _send_scheduled(self, due: float) -> None:
        with self._seal_lock:
            if self.closed:
                return
            payload = self._seal_next()
            writer = self._writer
            try:
                if writer is None:
                    raise BrokenPipeError
                writer.write_at(due, self._append.encode_frame(payload), len(payload))
            except OSError:
                self._writer = None  # the helper is gone: this thread writes from now on
                self._stop.wait(max(0.0, due - self._clock()))
                self._sink.write_frame(payload)
            self._after_scheduled()

    def _guarded(self, step: Callable[[], None]) -> None:
        """Run one step of a background thread; a failure is sealed, and the thread goes on
        (cover traffic must never stop: a silent Keep would tell the host something broke)."""
        try:
            step()
        except Exception as exc:  # see above
            self._queue.append(session_note(f"sealog runtime error: {type(exc).__name__}", ERROR))

    # -- the end ---------------------------------------------------------------------------
    def close(self, note: dict[str, Any] | None = None) -> None:
        """Seal everything left and the closing frame. Idempotent.

        Everything still waiting leaves at once (the end of a session is visible to the host
        anyway); with cover traffic, cover frames then pad the session's frame count to a
        multiple of ``pad_multiple``, the closing frame included.
        """
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()
        self._writer = None
        if self._helper is not None:
            self._helper.close()  # what it holds is written first, on time
        with self._pack_lock, self._seal_lock:
            if self.closed:
                return
            backlog = self._backlog
            self._pack_queue()
            fields: dict[str, Any] = {
                "records": backlog.admitted + 1,
                "dropped": backlog.dropped,
                "backlog_peak": backlog.peak,
            }
            if note:
                fields.update(note)
            if self._ahead is not None:  # sealed for the next tick: it comes first
                self._sink.write_frame(self._ahead)
                self._ahead = None
            backlog.note(session_note("session closed", INFO, **fields))
            backlog.finish()
            while len(backlog.ready) > self._capacity:
                self._emit(backlog.take(self._capacity))
            if self._cover:
                multiple = self._stream.pad_multiple
                for _ in range(-(self.frames + 1) % multiple):
                    self._emit(b"")
            self._emit(backlog.take(self._capacity), close=True)
            self.closed = True
        self._sink.close()
