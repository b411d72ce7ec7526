"""Publishing to JetStream with a bounded window of unacknowledged messages.

Messages go out pipelined, at most ``limit`` without an acknowledgement: the caller waits
when the window is full, so nothing is buffered without bound (the store folder, or the Keep's
own backlog, is the buffer). When an acknowledgement fails or does not come in time, every
message still in the window is published again, one by one and in order, until the servers
take them: their ``Nats-Msg-Id`` makes JetStream store a message that did arrive only once.
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

__all__ = ["Emit", "Outbound", "Window", "stderr_emitter"]

#: Writes one host-side event (name and fields) as a JSON line.
Emit = Callable[..., None]


def stderr_emitter(stream: TextIO | None = None) -> Emit:
    """An :data:`Emit` that writes host-channel style JSON lines to ``stream`` (stderr)."""
    out = stream or sys.stderr

    def emit(event: str, **fields: Any) -> None:
        line = {"event": event, "time": round(time.time(), 3), **fields}
        out.write(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n")
        out.flush()

    return emit


@dataclass(frozen=True)
class Outbound:
    """One message to publish."""

    subject: str
    payload: bytes
    msg_id: str


class Window:
    """A pipelined JetStream publisher that never holds more than ``limit`` messages.

    Args:
        js: a ``nats.js.JetStreamContext``.
        limit: messages published but not yet acknowledged, at most.
        ack_timeout: seconds to wait for the oldest acknowledgement before publishing again.
        emit: where retries are reported.
    """

    def __init__(self, js: Any, *, limit: int = 256, ack_timeout: float = 3.0, emit: Emit) -> None:
        self._js = js
        self._limit = limit
        self._ack_timeout = ack_timeout
        self._emit = emit
        self._pending: collections.deque[tuple[Outbound, asyncio.Future[Any]]] = (
            collections.deque()
        )
        self.acked = 0
        self.duplicates = 0
        self.retries = 0
        self.bytes = 0

    async def put(self, item: Outbound) -> None:
        """Publish ``item``; waits while the window is full."""
        pending = self._pending
        # Acknowledgements arrive in order of publishing: take every one that is in, cheaply.
        while pending:
            head = pending[0][1]
            if not head.done() or head.cancelled() or head.exception() is not None:
                break
            done, _ = pending.popleft()
            self._count(done, head.result())
        if len(pending) >= self._limit:
            # Full: wait until half the window is acknowledged, so that the next puts go out
            # without waiting one by one (acknowledgements come in bursts).
            while len(pending) > self._limit // 2:
                await self._settle_oldest()
        try:
            future = await self._js.publish_async(
                item.subject, item.payload, headers={"Nats-Msg-Id": item.msg_id}
            )
        except Exception:  # disconnected, buffer full: publish again in order below
            failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            failed.set_exception(ConnectionError("publish not sent"))
            future = failed
        future.add_done_callback(_consume)
        self._pending.append((item, future))

    async def drain(self) -> None:
        """Wait until every published message is acknowledged."""
        while self._pending:
            await self._settle_oldest()

    async def _settle_oldest(self) -> None:
        item, future = self._pending[0]
        try:
            if future.done():
                ack = future.result()
            else:
                async with asyncio.timeout(self._ack_timeout):
                    ack = await future
        except Exception:  # timeout, no responders, server error: all mean "not known stored"
            await self._republish_window()
            return
        self._pending.popleft()
        self._count(item, ack)

    async def _republish_window(self) -> None:
        """Publish the whole window again, in order, each one waited for, until all are taken."""
        items = [item for item, _ in self._pending]
        for _, future in self._pending:
            future.cancel()  # frees the client's slot; a late acknowledgement is ignored
        self._pending.clear()
        self.retries += 1
        self._emit("relay.retry", messages=len(items))
        delay = 0.1
        for item in items:
            while True:
                try:
                    ack = await self._js.publish(
                        item.subject,
                        item.payload,
                        timeout=self._ack_timeout,
                        headers={"Nats-Msg-Id": item.msg_id},
                    )
                except Exception:  # the servers are still away: wait, then try this one again
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                self._count(item, ack)
                delay = 0.1
                break

    def _count(self, item: Outbound, ack: Any) -> None:
        self.acked += 1
        self.bytes += len(item.payload)
        if getattr(ack, "duplicate", False):
            self.duplicates += 1


def _consume(future: asyncio.Future[Any]) -> None:
    # A failed acknowledgement is handled by publishing again; mark it seen so asyncio does
    # not report "exception never retrieved".
    if not future.cancelled():
        future.exception()
