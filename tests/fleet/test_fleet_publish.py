"""The publish window: bounded while the servers do not acknowledge, in order once they do."""

from __future__ import annotations

import asyncio
import json
import threading
from types import SimpleNamespace
from typing import Any

import nats as nats_client
import pytest
from natshelp import Cluster

from sealog.host import NatsTarget, Store
from sealog.host._publish import DUPLICATE, FAILED, STORED, Outbound, Window, ack_status
from sealog.seal._container import Entry, iter_entries
from sealog.seal._header import Header
from streams import SessionMaker


def test_window_holds_back_the_publisher_until_the_stream_takes_messages_in_order(
    nats: Cluster,
) -> None:
    """No stream answers yet: four messages go out, the fifth waits (nothing piles up in
    memory); once the stream exists, all five are stored once each, in publishing order."""
    from nats.js import api

    seen: list[str] = []

    async def main() -> list[bytes]:
        nc = await nats_client.connect(servers=list(NatsTarget.parse(source).servers))
        js = nc.jetstream(timeout=1)
        window = Window(nc, limit=4, ack_timeout=0.2, emit=lambda event, **_: seen.append(event))
        for n in range(4):
            await window.put(Outbound(f"held.s.{n}", b"%d" % n, f"m{n}"))
        fifth = asyncio.create_task(window.put(Outbound("held.s.4", b"4", "m4")))
        done, _ = await asyncio.wait({fifth}, timeout=1.0)
        assert not done  # held back: the window is full and nothing is acknowledged
        assert "relay.retry" in seen
        await js.add_stream(api.StreamConfig(name="HELD", subjects=["held.>"]))
        await asyncio.wait_for(fifth, 10)
        await asyncio.wait_for(window.drain(), 10)
        sub = await js.subscribe("held.>", ordered_consumer=True)
        got = [(await sub.next_msg(timeout=2)).data for _ in range(5)]
        info = await js.stream_info("HELD")
        await nc.close()
        assert info.state.messages == 5  # retried messages stored once
        return got

    source = nats.source()
    assert asyncio.run(main()) == [b"0", b"1", b"2", b"3", b"4"]


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        (b'{"stream":"SEALOG","seq":12}', STORED),
        (b'{"stream":"SEALOG","seq":12,"duplicate":true}', DUPLICATE),
        (b'{"stream":"SEALOG","seq":12,"duplicate": true}', DUPLICATE),  # as nats-server 2.x
        (b'{"stream":"SEALOG","seq":12,"duplicate":false}', STORED),
        (b'{"seq":12,"stream":"SEALOG"}', STORED),  # another server's key order
        (b'{"error":{"code":503,"err_code":10039,"description":"jetstream not enabled"}}', FAILED),
        (b'{"stream":"SEALOG","error":{"code":400,"description":"wrong last sequence"}}', FAILED),
        (b"", FAILED),  # the servers' "no responders" status carries no data
        (b"not json", FAILED),
        (b"[1, 2]", FAILED),
    ],
)
def test_only_a_stored_acknowledgement_takes_a_message_out_of_the_window(
    reply: bytes, status: int
) -> None:
    assert ack_status(reply) == status


def test_messages_the_stream_already_holds_are_counted_as_duplicates_and_stored_once(
    nats: Cluster,
) -> None:
    """A relay that publishes again what it published before (killed before it learned of the
    acknowledgements) is told so by the stream; the window counts them, the stream holds one."""
    from nats.js import api

    async def main() -> tuple[tuple[int, int], tuple[int, int], int]:
        nc = await nats_client.connect(servers=list(NatsTarget.parse(nats.source()).servers))
        js = nc.jetstream(timeout=2)
        await js.add_stream(api.StreamConfig(name="TWICE", subjects=["twice.>"]))
        counts = []
        for _ in range(2):
            window = Window(nc, limit=8, emit=lambda *_a, **_k: None)
            for n in range(20):
                await window.put(Outbound("twice.s", b"%d" % n, f"m{n}"))
            await window.drain()
            counts.append((window.acked, window.duplicates))
        info = await js.stream_info("TWICE")
        await nc.close()
        return counts[0], counts[1], info.state.messages

    first, again, stored = asyncio.run(main())
    assert first == (20, 0)
    assert again == (20, 20)
    assert stored == 20


class _SilentServer:
    """A connection whose first acknowledgements never come in time (they come late)."""

    def __init__(self) -> None:
        self.replies: list[str] = []
        self.on_reply: Any = None
        self.requests = 0

    def new_inbox(self) -> str:
        return "_INBOX.test"

    async def subscribe(self, subject: str, cb: Any) -> object:
        self.on_reply = cb
        return object()

    async def publish(self, subject: str, payload: bytes, reply: str, headers: Any) -> None:
        self.replies.append(reply)

    async def request(self, subject: str, payload: bytes, timeout: float, headers: Any) -> Any:
        self.requests += 1
        return SimpleNamespace(data=b'{"stream":"S","seq":%d}' % self.requests)


def test_late_acknowledgements_of_a_window_published_again_are_neither_counted_nor_kept() -> None:
    """Each message is counted once, and replies nobody waits for any more do not pile up."""
    server = _SilentServer()

    async def main() -> Window:
        window = Window(server, limit=4, ack_timeout=0.05, emit=lambda *_a, **_k: None)
        for n in range(3):
            await window.put(Outbound("s", b"%d" % n, f"m{n}"))
        await window.drain()  # no acknowledgement in time: all three published again
        for reply in server.replies:  # the first acknowledgements arrive after all
            await server.on_reply(SimpleNamespace(subject=reply, data=b'{"stream":"S","seq":1}'))
        await window.put(Outbound("s", b"3", "m3"))
        await server.on_reply(SimpleNamespace(subject=server.replies[-1], data=b'{"stream":"S"}'))
        await window.drain()
        return window

    window = asyncio.run(main())
    assert (window.acked, window.retries, server.requests) == (4, 1, 3)
    assert not window._replies


def test_frames_and_events_from_several_threads_share_the_window_without_stalls_or_retries(
    nats: Cluster, make_session: SessionMaker
) -> None:
    """``sealog run --store nats://``: the sealer's frames and the runtime's events reach the
    one window from different threads at once; with it full most of the time, each waits its
    turn: nothing is published again, and each subject holds its messages in order."""
    from sealog.host import NatsSink

    store, sid = make_session(records=5)
    first = next(e for e in iter_entries(Store.open(store).seal_path(sid).read_bytes()))
    assert isinstance(first, Entry)
    header = Header.from_bytes(first.payload)
    target = NatsTarget.parse(nats.source())
    seen: list[str] = []
    sink = NatsSink(target, window=2, emit=lambda event, **_: seen.append(event))
    frames = sink.session(header)

    def write_frames() -> None:
        for n in range(150):
            frames.write_frame(b"frame %d" % n)

    def send_events() -> None:
        for n in range(150):
            sink.event(sid, {"event": "keep.tick", "n": n})

    threads = [threading.Thread(target=write_frames), threading.Thread(target=send_events)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    sink.close()
    assert "relay.retry" not in seen

    async def stored(kind: str) -> list[bytes]:
        nc = await nats_client.connect(servers=list(target.servers))
        js = nc.jetstream(timeout=2)
        sub = await js.subscribe(target.subject(header.keep_id, sid, kind), ordered_consumer=True)
        got = [(await sub.next_msg(timeout=2)).data for _ in range(150)]
        await nc.close()
        return got

    assert asyncio.run(stored("frame")) == [b"frame %d" % n for n in range(150)]
    assert [json.loads(e)["n"] for e in asyncio.run(stored("event"))] == list(range(150))


def test_a_batch_of_host_lines_is_published_as_one_event_each_in_order(
    nats: Cluster, make_session: SessionMaker
) -> None:
    """The development host copy reaches a ``nats://`` store as it reaches a folder: each
    ``keep.log`` line of a batch is one event, numbered after the events before it."""
    from sealog.host import NatsSink

    store, sid = make_session(records=5)
    first = next(e for e in iter_entries(Store.open(store).seal_path(sid).read_bytes()))
    assert isinstance(first, Entry)
    header = Header.from_bytes(first.payload)
    target = NatsTarget.parse(nats.source())
    sink = NatsSink(target)
    sink.session(header)
    sink.event(sid, {"event": "keep.ready", "n": 0})
    lines = [json.dumps({"event": "keep.log", "n": n}) for n in range(1, 6)]
    sink.append_event_lines(sid, "\n".join(lines) + "\n")
    sink.event(sid, {"event": "keep.exited", "n": 6})
    sink.close()

    async def stored() -> list[tuple[bytes, str | None]]:
        nc = await nats_client.connect(servers=list(target.servers))
        js = nc.jetstream(timeout=2)
        subject = target.subject(header.keep_id, sid, "event")
        sub = await js.subscribe(subject, ordered_consumer=True)
        msgs = [await sub.next_msg(timeout=2) for _ in range(7)]
        await nc.close()
        return [(m.data, (m.headers or {}).get("Nats-Msg-Id")) for m in msgs]

    got = asyncio.run(stored())
    assert [json.loads(data)["n"] for data, _ in got] == list(range(7))
    assert len({mid for _, mid in got}) == 7  # one message id each: none taken for another
