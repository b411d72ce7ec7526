"""The relay: a host-side daemon that ships a store folder's sessions to NATS JetStream.

It tails every session of the folder (header, frames, host-channel events) and publishes each
complete entry once, with a message id per entry. Where it starts for each session is read from
the stream itself (the last frame and event stored under the session's subjects), never from a
local cursor the host could lose: a relay killed at any moment and started again continues where
the stream stops, and a message it may have published twice is stored once.

A direct sink (:class:`NatsSink`) does the same for ``sealog run --store nats://...``, for Keeps
that publish without a local folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import threading
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealog.errors import FormatError
from sealog.host._nats import (
    NatsTarget,
    StreamLimits,
    connect,
    ensure_stream,
    msg_id,
    parse_msg_id,
)
from sealog.host._publish import Emit, Outbound, Window, stderr_emitter
from sealog.host._store import Store
from sealog.seal._container import MAGIC, MAX_ENTRY, Damaged, iter_entries
from sealog.seal._header import Header

__all__ = ["NatsSink", "RelayStats", "relay_store", "run_relay"]

#: Bytes read from a session file per step (a frame is at most 16 MiB; most are far smaller).
_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class RelayStats:
    """What a relay run shipped.

    Attributes:
        sessions: sessions seen.
        messages: messages acknowledged by the stream.
        bytes: payload bytes acknowledged.
        duplicates: messages the stream already held (a resumed or retried publish).
        retries: times the window was published again after a failed acknowledgement.
    """

    sessions: int
    messages: int
    bytes: int
    duplicates: int
    retries: int


#: Questions about sessions' state in flight at once when a relay takes many sessions up (the
#: servers queue API requests; a few dozen keep one round trip for all without flooding them).
_ASKS = 64


async def _last_n(
    js: Any, target: NatsTarget, subject: str, kind: str, asks: asyncio.Semaphore
) -> int:
    """How many of a session's frames or events the stream holds (from its last message's id)."""
    from nats.js import errors as js_errors  # noqa: PLC0415

    try:
        async with asks:
            msg = await js.get_last_msg(target.stream, subject)
    except js_errors.NotFoundError:
        return 0
    parsed = parse_msg_id((msg.headers or {}).get("Nats-Msg-Id"))
    if parsed is None or parsed[1] != kind:
        return 0  # not ours: publish from the start, duplicates are the owner's to see
    return parsed[2] + 1


def _keep_of(header: bytes) -> str:
    """The Keep id a header names in clear (the relay routes by it; it trusts nothing else)."""
    try:
        return Header.from_bytes(header).keep_id
    except FormatError:
        try:
            return str(json.loads(header).get("keep", "unknown"))
        except (ValueError, AttributeError):
            return "unknown"


class _Tail:
    """One session file being followed."""

    def __init__(self, store: Store, session: str) -> None:
        self.session = session
        self.seal = store.seal_path(session)
        self.events = store.events_path(session)
        self.keep: str | None = None
        self.header_in: bool | None = None  # whether the stream holds the header (once asked)
        self.started = False  # the header entry was handled
        self.offset = 0  # bytes of the seal file handled (published, or already in the stream)
        self.index = 0  # frame entries of the file handled
        self.skip = 0  # frames the stream held when this relay took the session up
        self.events_sent = 0
        self.events_offset = 0
        self.stopped = False

    async def pump(
        self, js: Any, target: NatsTarget, window: Window, emit: Emit, asks: asyncio.Semaphore
    ) -> int:
        """Publish what the session's files hold beyond what was handled; returns how many."""
        if self.stopped:
            return 0
        try:
            size = os.stat(self.seal).st_size
        except FileNotFoundError:
            return 0
        sent = 0
        try:
            if size > self.offset:
                sent += await self._pump_seal(js, target, window, emit, asks)
            if self.started:
                sent += await self._pump_events(target, window)
        except FileNotFoundError:
            pass  # the host removed the session's files meanwhile: what was sent stays sent
        return sent

    def peek_keep(self) -> bool:
        """Learn the session's Keep from its header entry, if the file holds it whole yet."""
        try:
            with open(self.seal, "rb") as fh:
                head = fh.read(len(MAGIC) + 8)
                if len(head) < len(MAGIC) + 8 or not head.startswith(MAGIC):
                    return False
                n = int.from_bytes(head[len(MAGIC) : len(MAGIC) + 4], "big")
                if n > MAX_ENTRY:
                    return False
                data = head + fh.read(n)
        except FileNotFoundError:
            return False
        for item in iter_entries(data):
            if isinstance(item, Damaged):
                return False  # left to pump(), which says so or waits for the rest
            self.keep = _keep_of(item.payload)
            return True
        return False

    def _read(self) -> bytes:
        """The next bytes of the seal file: a chunk, or one whole entry larger than a chunk."""
        with open(self.seal, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read(_CHUNK)
            head = len(MAGIC) if self.offset == 0 else 0
            if len(data) >= head + 8:
                n = int.from_bytes(data[head : head + 4], "big")
                if head + 8 + n > len(data) and n <= MAX_ENTRY:
                    data += fh.read(head + 8 + n - len(data))
        return data

    async def _pump_seal(
        self, js: Any, target: NatsTarget, window: Window, emit: Emit, asks: asyncio.Semaphore
    ) -> int:
        data = self._read()
        base = self.offset
        start = 0
        if base == 0:
            if len(data) < len(MAGIC):
                return 0
            if not data.startswith(MAGIC):
                self._stop(emit, "not a sealog session file")
                return 0
            start = len(MAGIC)
            self.offset = start
        sent = 0
        frames = target.subject(self.keep or "", self.session, "frame")
        for item in iter_entries(data, start):
            if isinstance(item, Damaged):
                if not item.torn:
                    self._stop(emit, "entry length damaged")
                break  # a torn entry is still being written: next time
            end = base + item.offset + 8 + len(item.payload)
            if not self.started:
                self.started = True
                keep = self.keep = self.keep or _keep_of(item.payload)
                frames = target.subject(keep, self.session, "frame")
                if self.header_in is None:  # not taken up with the others: ask now
                    await self.resume(js, target, emit, asks)
                if not self.header_in:
                    sent += 1
                    await window.put(
                        Outbound(
                            target.subject(keep, self.session, "header"),
                            item.payload,
                            msg_id(self.session, "header"),
                        )
                    )
            else:
                if self.index >= self.skip:
                    sent += 1
                    await window.put(
                        Outbound(frames, item.payload, f"{self.session}:f:{self.index}")
                    )
                self.index += 1
            self.offset = end
        return sent

    async def resume(
        self, js: Any, target: NatsTarget, emit: Emit, asks: asyncio.Semaphore
    ) -> None:
        """Learn how much of the session the stream already holds (its Keep must be known)."""
        keep = self.keep or ""
        has_header, self.skip, self.events_sent = await asyncio.gather(
            *(
                _last_n(js, target, target.subject(keep, self.session, kind), kind, asks)
                for kind in ("header", "frame", "event")
            )
        )
        self.header_in = has_header > 0
        emit(
            "relay.session",
            keep=keep,
            session=self.session,
            resume_frame=self.skip,
            resume_event=self.events_sent,
        )

    async def _pump_events(self, target: NatsTarget, window: Window) -> int:
        try:
            size = os.stat(self.events).st_size
        except FileNotFoundError:
            return 0
        if size <= self.events_offset:
            return 0
        with open(self.events, "rb") as fh:
            fh.seek(self.events_offset)
            data = fh.read()
        sent = 0
        line_no = 0
        skip = self.events_sent if self.events_offset == 0 else 0
        pos = 0
        while True:
            end = data.find(b"\n", pos)
            if end < 0:
                break  # a line still being written
            line = data[pos:end]
            pos = end + 1
            if skip and line_no < skip:
                line_no += 1
                continue
            await window.put(
                Outbound(
                    target.subject(self.keep or "", self.session, "event"),
                    line,
                    msg_id(self.session, "event", self.events_sent),
                )
            )
            self.events_sent += 1
            sent += 1
        self.events_offset += pos
        return sent

    def _stop(self, emit: Emit, reason: str) -> None:
        self.stopped = True
        emit("relay.damaged", session=self.session, reason=reason)


async def take_up(
    tails: list[_Tail], js: Any, target: NatsTarget, emit: Emit, asks: asyncio.Semaphore
) -> None:
    """Ask the stream how much of each newly found session it holds, all in one round trip
    rather than three per session (a relay started again on a full store resumes at once).

    Sessions whose header is not whole yet are asked when it is.
    """
    ready = [tail for tail in tails if tail.peek_keep()]
    await asyncio.gather(*(tail.resume(js, target, emit, asks) for tail in ready))


async def relay_store(
    store_path: Path | str,
    target: NatsTarget,
    limits: StreamLimits | None = None,
    *,
    once: bool = False,
    poll: float = 0.2,
    window: int = 256,
    emit: Emit | None = None,
    stop: asyncio.Event | None = None,
) -> RelayStats:
    """Ship a store folder's sessions to JetStream until ``stop`` is set (or, with ``once``,
    until everything the folder holds now is acknowledged).

    Args:
        store_path: the store folder to tail.
        target: the servers and stream.
        limits: the stream's settings when it is created (checked when it exists).
        once: relay what is there, wait for every acknowledgement, and return.
        poll: seconds between looks at the folder when nothing new was found.
        window: messages published but not yet acknowledged, at most (back-pressure).
        emit: where progress is reported (default: JSON lines on stderr).
        stop: set it to end the relay; what was published is acknowledged first.

    Raises:
        FormatError: the folder is not a store, no server answers at start, or the stream's
            settings do not fit.
    """
    say = emit or stderr_emitter()
    store = Store.open(Path(store_path))
    stop = stop or asyncio.Event()
    closing = False

    async def disconnected() -> None:
        if not closing:
            say("relay.disconnected")

    async def reconnected() -> None:
        say("relay.reconnected")

    nc = await connect(
        target,
        forever=not once,
        name="sealog-relay",
        on_disconnect=disconnected,
        on_reconnect=reconnected,
    )
    try:
        js = nc.jetstream(timeout=5)
        await ensure_stream(js, target, limits or StreamLimits())
        pub = Window(nc, limit=window, emit=say)
        say("relay.started", stream=target.stream, store=str(store.root))
        tails: dict[str, _Tail] = {}
        asks = asyncio.Semaphore(_ASKS)
        reported = 0
        while True:
            sent = 0
            sessions = store.sessions()
            fresh = [_Tail(store, sid) for sid in sessions if sid not in tails]
            tails.update((tail.session, tail) for tail in fresh)
            await take_up(fresh, js, target, say, asks)
            for sid in sessions:
                sent += await tails[sid].pump(js, target, pub, say, asks)
            if pub.acked - reported >= 10000:
                say("relay.progress", messages=pub.acked, bytes=pub.bytes)
                reported = pub.acked
            if once and sent == 0:
                break
            if stop.is_set():
                break
            if sent == 0:
                await pub.drain()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll)
        await pub.drain()
        stats = RelayStats(len(tails), pub.acked, pub.bytes, pub.duplicates, pub.retries)
        say(
            "relay.stopped",
            sessions=stats.sessions,
            messages=stats.messages,
            bytes=stats.bytes,
            duplicates=stats.duplicates,
        )
        return stats
    finally:
        closing = True
        with contextlib.suppress(Exception):
            await nc.close()


def run_relay(
    store_path: Path | str,
    target: NatsTarget,
    limits: StreamLimits | None = None,
    *,
    once: bool = False,
    window: int = 256,
) -> RelayStats:
    """Run :func:`relay_store` in the foreground; SIGINT and SIGTERM end it cleanly."""

    async def main() -> RelayStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await relay_store(store_path, target, limits, once=once, window=window, stop=stop)

    try:
        return asyncio.run(main())
    except Exception as exc:
        if type(exc).__module__.split(".")[0] != "nats":
            raise
        # A server that answers with an error the relay cannot work around: one line, exit 2.
        raise FormatError(f"{target}: {type(exc).__name__}: {exc}") from exc


class NatsSink:
    """Publishes sessions straight to JetStream from ``sealog run`` (no local folder).

    One connection, on a thread of its own; :meth:`session` gives the Keep a
    :class:`~sealog.keep.FrameSink` per session. ``write_frame`` returns once the frame is in
    the publish window, and waits while the window is full (back-pressure reaches the Keep's
    sealer, whose backlog is bounded on its side).

    Raises:
        FormatError: no server answers, or the stream's settings do not fit.
    """

    def __init__(
        self,
        target: NatsTarget,
        limits: StreamLimits | None = None,
        *,
        window: int = 256,
        emit: Emit | None = None,
    ) -> None:
        self._target = target
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._emit = emit or (lambda *_a, **_k: None)
        self._keeps: dict[str, str] = {}
        self._events: dict[str, int] = {}
        # Events come from several threads: ids are handed out, and published, in one order.
        self._event_lock = threading.Lock()
        self._closed = False
        self._turn = asyncio.Lock()
        try:
            self._nc, self._window = self._call(self._open(limits or StreamLimits(), window))
        except BaseException:
            self._stop_loop()
            raise

    async def _open(self, limits: StreamLimits, window: int) -> tuple[Any, Window]:
        nc = await connect(self._target, forever=True, name="sealog-run")
        try:
            js = nc.jetstream(timeout=5)
            await ensure_stream(js, self._target, limits)
        except BaseException:
            await nc.close()
            raise
        return nc, Window(nc, limit=window, emit=self._emit)

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _in_turn(self, step: Awaitable[None]) -> None:
        # Frames and events come from several threads; the window serves one caller at a time
        # (two waiting on a full window would each take the other's acknowledgement).
        async with self._turn:
            await step

    def _put(self, subject: str, payload: bytes, mid: str) -> None:
        if self._closed:
            return
        self._call(self._in_turn(self._window.put(Outbound(subject, payload, mid))))

    def session(self, header: Header) -> _SessionSink:
        """The sink of a new session: publishes its header now."""
        sid = header.session_hex
        self._keeps[sid] = header.keep_id
        self._put(
            self._target.subject(header.keep_id, sid, "header"),
            header.to_bytes(),
            msg_id(sid, "header"),
        )
        return _SessionSink(self, header.keep_id, sid)

    def event(self, session: str, event: dict[str, Any]) -> None:
        """Publish one host-channel event of a session."""
        keep = self._keeps.get(session, "unknown")
        line = getattr(event, "line", None)
        if not isinstance(line, str):
            line = json.dumps(event, sort_keys=True, separators=(",", ":"))
        self._publish_events(keep, session, [line])
        if event.get("event") == "keep.closed":
            # A session opened in-process ends with this event (a store folder releases its
            # file then): with nothing left to send, the connection goes too.
            self.close()

    def append_event_lines(self, session: str, text: str) -> None:
        """Publish a batch of ``keep.log`` events, already JSON lines (each ending in a
        newline), one message each, as a store folder appends them."""
        self._publish_events(self._keeps.get(session, "unknown"), session, text.splitlines())

    def _publish_events(self, keep: str, session: str, lines: list[str]) -> None:
        subject = self._target.subject(keep, session, "event")
        with self._event_lock:
            n = self._events.get(session, 0)
            self._events[session] = n + len(lines)
            for i, line in enumerate(lines, n):
                self._put(subject, line.encode(), msg_id(session, "event", i))

    # The names a store folder gives the same things (sealog.run_keep uses either).
    def new_session(self, header: Header) -> _SessionSink:
        """The same as :meth:`session`."""
        return self.session(header)

    def append_event(self, session: str, event: dict[str, Any]) -> None:
        """The same as :meth:`event`."""
        self.event(session, event)

    def drain(self) -> None:
        """Wait until every message published so far is acknowledged."""
        if self._closed:
            return
        self._call(self._in_turn(self._window.drain()))

    def close(self) -> None:
        """Wait for every acknowledgement, then disconnect (later messages are dropped)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._call(self._in_turn(self._window.drain()))
            self._call(self._nc.close())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


class _SessionSink:
    """One session's frames, published in order."""

    def __init__(self, owner: NatsSink, keep: str, session: str) -> None:
        self._owner = owner
        self._subject = owner._target.subject(keep, session, "frame")
        self._session = session
        self._n = 0

    def write_frame(self, payload: bytes) -> None:
        """Publish one frame (waits while the window is full)."""
        self._owner._put(self._subject, payload, msg_id(self._session, "frame", self._n))
        self._n += 1

    def close(self) -> None:
        """Wait until the stream has acknowledged every frame of the session."""
        self._owner.drain()
