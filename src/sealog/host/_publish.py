"""Publishing to JetStream with a bounded window of unacknowledged messages.

Messages go out pipelined, at most ``limit`` without an acknowledgement: the caller waits
when the window is full, so nothing is buffered without bound (the store folder, or the Keep's
own backlog, is the buffer). When an acknowledgement fails or does not come in time, every
message still in the window is published again, one by one and in order, until the servers
take them: their ``Nats-Msg-Id`` makes JetStream store a message that did arrive only once.

Acknowledgements come back on one inbox subscription of the window's own, each to a reply
subject ending in the message's number in the window: a relay publishes tens of thousands of
messages a second, and a future, a random token and a parsed acknowledgement object per message
(what the client's generic ``publish_async`` keeps) would cost the relay about as much CPU as
publishing itself.
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple, TextIO

__all__ = ["Emit", "Outbound", "Window", "ack_status", "stderr_emitter"]

#: Writes one host-side event (name and fields) as a JSON line.
Emit = Callable[..., None]

#: What :func:`ack_status` says of a reply: not stored, stored, stored before (a duplicate).
FAILED, STORED, DUPLICATE = 0, 1, 2


def stderr_emitter(stream: TextIO | None = None) -> Emit:
    """An :data:`Emit` that writes host-channel style JSON lines to ``stream`` (stderr)."""
    out = stream or sys.stderr

    def emit(event: str, **fields: Any) -> None:
        line = {"event": event, "time": round(time.time(), 3), **fields}
        out.write(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n")
        out.flush()

    return emit


class Outbound(NamedTuple):
    """One message to publish."""

    subject: str
    payload: bytes
    msg_id: str


def ack_status(data: bytes) -> int:
    """What a JetStream publish reply says: :data:`FAILED`, :data:`STORED` or :data:`DUPLICATE`.

    An empty reply (the servers' "no responders" status) or an error is :data:`FAILED`.
    """
    # The servers write a new message's acknowledgement as {"stream":...,"seq":...} and an
    # error as {"error":...}; stream names cannot hold quotes, so the common case is read
    # without decoding it. Anything else (a duplicate, whose flag is spelled with a space by
    # some servers) is decoded.
    if data.startswith(b'{"stream":') and b'"error"' not in data and b'"duplicate"' not in data:
        return STORED
    try:
        reply = json.loads(data)
    except ValueError:
        return FAILED
    if not isinstance(reply, dict) or "error" in reply or "stream" not in reply:
        return FAILED
    return DUPLICATE if reply.get("duplicate") is True else STORED


class Window:
    """A pipelined JetStream publisher that never holds more than ``limit`` messages.

    One caller at a time: callers on several tasks take turns (a lock around :meth:`put` and
    :meth:`drain`), so that messages go out, and are published again, in one order.

    Args:
        nc: a connected ``nats.aio.client.Client``.
        limit: messages published but not yet acknowledged, at most.
        ack_timeout: seconds to wait for the oldest acknowledgement before publishing again.
        emit: where retries are reported.
    """

    def __init__(self, nc: Any, *, limit: int = 256, ack_timeout: float = 3.0, emit: Emit) -> None:
        self._nc = nc
        self._limit = limit
        self._ack_timeout = ack_timeout
        self._emit = emit
        # (number, message) in publishing order; replies land in _replies by number.
        self._pending: collections.deque[tuple[int, Outbound]] = collections.deque()
        self._replies: dict[int, bytes] = {}
        self._next = 0
        self._floor = 0  # replies to numbers below this were given up on: ignored
        self._inbox = ""
        self._sub: Any = None
        self._wanted = -1
        self._waiter: asyncio.Future[None] | None = None
        self.acked = 0
        self.duplicates = 0
        self.retries = 0
        self.bytes = 0

    async def _open(self) -> None:
        self._inbox = self._nc.new_inbox() + "."
        cut = len(self._inbox)
        replies = self._replies

        async def on_reply(msg: Any) -> None:
            try:
                n = int(msg.subject[cut:])
            except ValueError:
                return
            if n < self._floor:
                return  # a late reply to a publish that was made again since
            replies[n] = msg.data
            waiter = self._waiter
            if n == self._wanted and waiter is not None and not waiter.done():
                waiter.set_result(None)

        self._sub = await self._nc.subscribe(self._inbox + "*", cb=on_reply)

    async def put(self, item: Outbound) -> None:
        """Publish ``item``; waits while the window is full."""
        pending = self._pending
        replies = self._replies
        # Replies arrive in order of publishing: take every one that is in, cheaply.
        while pending and pending[0][0] in replies:
            n, done = pending[0]
            status = ack_status(replies[n])
            if status == FAILED:
                break  # settled below, when the window is full or drained
            pending.popleft()
            del replies[n]
            self._count(done, status)
        if len(pending) >= self._limit:
            # Full: wait until half the window is acknowledged, so that the next puts go out
            # without waiting one by one (acknowledgements come in bursts).
            while len(pending) > self._limit // 2:
                await self._settle_oldest()
        if self._sub is None:
            await self._open()
        n = self._next
        self._next = n + 1
        pending.append((n, item))
        try:
            await self._nc.publish(
                item.subject,
                item.payload,
                reply=self._inbox + str(n),
                headers={"Nats-Msg-Id": item.msg_id},
            )
        except Exception:  # disconnected, buffer full: published again in order when settled
            replies[n] = b""

    async def drain(self) -> None:
        """Wait until every published message is acknowledged."""
        while self._pending:
            await self._settle_oldest()

    async def _settle_oldest(self) -> None:
        n, item = self._pending[0]
        data = self._replies.pop(n, None)
        if data is None:
            self._wanted = n
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(self._ack_timeout):
                    await self._waiter
            except TimeoutError:
                pass  # not known stored: published again below
            finally:
                self._waiter = None
                self._wanted = -1
            data = self._replies.pop(n, None)
        status = FAILED if data is None else ack_status(data)
        if status == FAILED:  # timeout, no responders, server error: all mean "not known stored"
            await self._republish_window()
            return
        self._pending.popleft()
        self._count(item, status)

    async def _republish_window(self) -> None:
        """Publish the whole window again, in order, each one waited for, until all are taken."""
        items = [item for _, item in self._pending]
        self._pending.clear()
        self._replies.clear()
        self._floor = self._next  # a late reply to an earlier publish is ignored
        self.retries += 1
        self._emit("relay.retry", messages=len(items))
        delay = 0.1
        for item in items:
            while True:
                try:
                    reply = await self._nc.request(
                        item.subject,
                        item.payload,
                        timeout=self._ack_timeout,
                        headers={"Nats-Msg-Id": item.msg_id},
                    )
                    status = ack_status(reply.data)
                except Exception:  # the servers are still away
                    status = FAILED
                if status == FAILED:  # wait, then try this one again
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                self._count(item, status)
                delay = 0.1
                break

    def _count(self, item: Outbound, status: int) -> None:
        self.acked += 1
        self.bytes += len(item.payload)
        if status == DUPLICATE:
            self.duplicates += 1
