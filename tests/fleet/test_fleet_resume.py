"""A relay taking up a store resumes every session where the stream stops, and asks the stream
about all the sessions it finds at once rather than one after another."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from natshelp import Cluster

from sealog.host import NatsTarget, Store, relay_store
from sealog.host._relay import _Tail, take_up
from sealog.owner import list_stream
from sealog.seal._container import Entry, iter_entries
from streams import SessionMaker


def _cut_to_half(seal: Path) -> int:
    """Keep the header and the first half of a session file's frames; returns how many."""
    entries = [e for e in iter_entries(seal.read_bytes()) if isinstance(e, Entry)]
    keep = len(entries) // 2
    end = entries[keep].offset + 8 + len(entries[keep].payload)  # header + keep frames
    with open(seal, "r+b") as fh:
        fh.truncate(end)
    return keep


def test_relay_taking_up_several_half_shipped_sessions_resumes_each_where_the_stream_stops(
    nats: Cluster, make_session: SessionMaker, tmp_path: Path
) -> None:
    """Three sessions reached the stream only in part (a relay died): a relay started on the
    whole store ships each session's rest, nothing twice, and says where each one resumed."""
    store, _ = make_session(records=40)
    make_session(records=60, store=store)
    make_session(records=25, store=store)
    half = tmp_path / "half"
    shutil.copytree(store, half)
    shipped = {p.name.split(".")[0]: _cut_to_half(p) for p in half.glob("*.seal")}
    target = NatsTarget.parse(nats.source())
    quiet = lambda *_a, **_k: None  # noqa: E731
    first = asyncio.run(relay_store(half, target, once=True, emit=quiet))

    said: list[dict[str, Any]] = []
    again = asyncio.run(
        relay_store(store, target, once=True, emit=lambda event, **f: said.append(f | {"e": event}))
    )
    resumed = {f["session"]: f["resume_frame"] for f in said if f["e"] == "relay.session"}
    assert resumed == shipped
    assert again.duplicates == 0
    found = {s.session: s.messages for s in list_stream(nats.source())}
    whole = Store.open(store)
    assert sorted(found) == sorted(whole.sessions())
    assert sum(found.values()) == first.messages + again.messages


class _CountingStream:
    """A JetStream context that answers "nothing stored" and notes how many asks overlap."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0
        self.asked: list[str] = []

    async def get_last_msg(self, stream: str, subject: str) -> Any:
        from nats.js import errors as js_errors

        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        self.asked.append(subject)
        await asyncio.sleep(0.01)  # one round trip
        self.in_flight -= 1
        raise js_errors.NotFoundError


def test_sessions_found_together_are_asked_about_in_one_round_trip(
    make_session: SessionMaker,
) -> None:
    store, _ = make_session(records=10)
    for _ in range(4):
        make_session(records=10, store=store)
    folder = Store.open(store)
    tails = [_Tail(folder, sid) for sid in folder.sessions()]
    js = _CountingStream()

    async def main() -> None:
        await take_up(tails, js, NatsTarget.parse("nats://127.0.0.1:1"), lambda *_a, **_k: None,
                      asyncio.Semaphore(64))  # fmt: skip

    asyncio.run(main())
    assert len(js.asked) == 15  # header, frames and events of five sessions
    assert js.most == 15  # all at once, not one after another
    assert all(t.header_in is False and t.skip == 0 for t in tails)
