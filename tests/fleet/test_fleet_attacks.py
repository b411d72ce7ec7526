"""The NATS operator attacks sealed sessions through the JetStream API; the owner's verify from
``nats://`` must name the same verdict, and exit 1, as for the same attack on a folder.

DESIGN.md section 2, promise 2, with the engine as untrusted as any host (section 12).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from natshelp import Cli, Cluster, js_call

from sealog.host import NatsTarget, Store, relay_store
from sealog.owner import verify_store
from sealog.seal import OwnerPrivateKey
from sealog.seal._container import MAGIC, Entry, encode_entry, iter_entries
from streams import SessionMaker


def entries(path: Path) -> list[bytes]:
    return [e.payload for e in iter_entries(path.read_bytes()) if isinstance(e, Entry)]


def rewrite(path: Path, payloads: list[bytes]) -> None:
    path.write_bytes(MAGIC + b"".join(encode_entry(p) for p in payloads))


async def _messages(js: Any, stream: str) -> list[Any]:
    """Every message of the stream, in order (the operator reads its own stream)."""
    info = await js.stream_info(stream)
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            found.append(await js.get_msg(stream, seq))
        except Exception:  # noqa: S112 - deleted sequence numbers leave gaps
            continue
    return found


def _find(messages: list[Any], mid: str) -> Any:
    (msg,) = [m for m in messages if (m.headers or {}).get("Nats-Msg-Id") == mid]
    return msg


async def _operator_stream(js: Any, stream: str) -> None:
    """The operator creates the stream itself, without deny_delete (the relay accepts a stream
    that keeps every frame; deny_delete cannot be lifted later, but need not be set first)."""
    from nats.js import api

    await js.add_stream(
        api.StreamConfig(name=stream, subjects=[f"sealog.{stream}.>"], duplicate_window=120)
    )


def _delete(a: str, b: str, k: int) -> Callable[[Any, str], Any]:
    async def attack(js: Any, stream: str) -> None:
        msg = _find(await _messages(js, stream), f"{b}:f:{k}")
        await js.delete_msg(stream, msg.seq)

    return attack


def _duplicate(a: str, b: str, k: int) -> Callable[[Any, str], Any]:
    async def attack(js: Any, stream: str) -> None:
        msg = _find(await _messages(js, stream), f"{b}:f:{k}")
        await js.publish(msg.subject, msg.data, headers={"Nats-Msg-Id": f"{b}:f:9{k}"})

    return attack


def _reorder(a: str, b: str, k: int) -> Callable[[Any, str], Any]:
    async def attack(js: Any, stream: str) -> None:
        msg = _find(await _messages(js, stream), f"{b}:f:{k}")
        await js.delete_msg(stream, msg.seq)
        await js.publish(msg.subject, msg.data, headers={"Nats-Msg-Id": "moved"})

    return attack


def _splice(a: str, b: str, k: int) -> Callable[[Any, str], Any]:
    async def attack(js: Any, stream: str) -> None:
        messages = await _messages(js, stream)
        count = sum(1 for m in messages if (m.headers or {})["Nats-Msg-Id"].startswith(f"{b}:f:"))
        donor = _find(messages, f"{a}:f:{count}")  # A's frame at B's next position
        target = _find(messages, f"{b}:f:0").subject
        await js.publish(target, donor.data, headers={"Nats-Msg-Id": f"{b}:f:{count}"})

    return attack


def _folder_attack(name: str, store: Path, a: str, b: str, k: int) -> None:
    """The same attack done by a host on its folder."""
    path = store / f"{b}.seal"
    parts = entries(path)
    frame = parts[1 + k]
    if name == "delete":
        del parts[1 + k]
    elif name == "duplicate":
        parts.append(frame)
    elif name == "reorder":
        del parts[1 + k]
        parts.append(frame)
    elif name == "splice":
        parts.append(entries(store / f"{a}.seal")[len(parts)])
    rewrite(path, parts)


ATTACKS = {"delete": _delete, "duplicate": _duplicate, "reorder": _reorder, "splice": _splice}
EXPECTED = {"delete": "deleted", "duplicate": "duplicated", "reorder": "reordered",
            "splice": "spliced"}  # fmt: skip


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_operator_attack_through_jetstream_gets_the_folder_verdict_and_exit_1(
    attack: str,
    nats: Cluster,
    make_session: SessionMaker,
    owner_key: OwnerPrivateKey,
    owner_files: tuple[Path, Path],
    tmp_path: Path,
    cli: Cli,
) -> None:
    store, a = make_session(records=60, close=False)
    _, b = make_session(records=25, close=False, store=store)
    stream = f"ATTACK_{attack.upper()}"
    source = nats.source(stream)
    js_call(source, lambda js: _operator_stream(js, stream))
    asyncio.run(relay_store(store, NatsTarget.parse(source), once=True, emit=lambda *x, **y: None))
    k = 2

    async def run(js: Any) -> None:
        await ATTACKS[attack](a, b, k)(js, stream)

    js_call(source, run)
    folder = tmp_path / "folder"
    shutil.copytree(store, folder)
    _folder_attack(attack, folder, a, b, k)

    on_folder = {v.session: v.status for v in verify_store(Store.open(folder).root, owner_key)}
    code, out, err = cli("verify", source, "--key", owner_files[0], "--json")
    on_nats = {v["session"]: v["status"] for v in map(json.loads, out.splitlines())}
    assert code == 1, err
    assert on_nats == on_folder
    assert on_nats[b] == EXPECTED[attack]
    assert on_nats[a] == "truncated"  # left alone: still unfinished, as sealed


def test_publish_retried_after_the_duplicate_window_is_no_false_alarm(
    nats: Cluster, make_session: SessionMaker, owner_files: tuple[Path, Path], cli: Cli
) -> None:
    """A relay that retries a publish whose acknowledgement was lost, after JetStream stopped
    remembering its id, stores the same message twice: same id, same bytes. That copy hides
    nothing and must not be reported as a replay."""
    from nats.js import api

    store, sid = make_session(records=40)
    source = nats.source("RETRIED")

    async def tiny_window(js: Any) -> None:
        await js.add_stream(
            api.StreamConfig(name="RETRIED", subjects=["sealog.RETRIED.>"], duplicate_window=0.1)
        )

    js_call(source, tiny_window)
    asyncio.run(relay_store(store, NatsTarget.parse(source), once=True, emit=lambda *x, **y: None))

    async def retry(js: Any) -> None:
        msg = _find(await _messages(js, "RETRIED"), f"{sid}:f:3")
        for _ in range(100):  # until the server's window (its own clock) has moved past the id
            ack = await js.publish(msg.subject, msg.data, headers={"Nats-Msg-Id": f"{sid}:f:3"})
            if not ack.duplicate:
                return  # the stream stored it twice
            await asyncio.sleep(0.02)
        raise AssertionError("the duplicate window never passed")

    js_call(source, retry)
    code, out, err = cli("verify", source, "--key", owner_files[0])
    assert code == 0, out + err
    assert "INTACT" in out


def test_operator_adding_a_subject_no_relay_writes_is_refused_as_a_foreign_file(
    nats: Cluster,
    make_session: SessionMaker,
    owner_files: tuple[Path, Path],
    tmp_path: Path,
    cli: Cli,
) -> None:
    store, _ = make_session(records=10)
    source = nats.source()
    asyncio.run(relay_store(store, NatsTarget.parse(source), once=True, emit=lambda *x, **y: None))

    async def plant(js: Any) -> None:
        await js.publish("sealog.SEALOG.k.not-a-session.frame", b"x")

    js_call(source, plant)
    (store / "planted.txt").write_text("x")
    folder = cli("verify", store, "--key", owner_files[0])
    stream = cli("verify", source, "--key", owner_files[0])
    assert folder[0] == stream[0] == 2
    assert "foreign subject in stream: sealog.SEALOG.k.not-a-session.frame" in stream[2]
