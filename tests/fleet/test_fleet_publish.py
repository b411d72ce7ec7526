"""The publish window: bounded while the servers do not acknowledge, in order once they do."""

from __future__ import annotations

import asyncio

import nats as nats_client
from natshelp import Cluster

from sealog.host import NatsTarget
from sealog.host._publish import Outbound, Window


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
