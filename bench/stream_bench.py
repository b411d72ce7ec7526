"""The constant-rate stream under the built-in production profile: bursts, capacity, timing, idle.

Called by ``bench/run.py``; ``python bench/stream_bench.py timing`` runs the timing measurement
alone in a fresh interpreter and prints one JSON object.

* bursts: ``sealog run --profile production`` of a workload logging N WARNINGs at once; how many
  reach the owner, how many are counted as dropped, how many arrive twice;
* capacity: WARNINGs per second the profile carries with no backlog growth, from the compressed
  bytes per row at the packer's rhythm and the frame's capacity; then a short real run at the
  goal rate, whose closing record says whether anything was dropped and how big the backlog got;
* timing: |emission time - schedule| of frames while a pump thread feeds a 100,000-record burst,
  against the same session quiet (in one process, as in the runtime: the emitter shares the
  interpreter with the threads that take in records);
* idle: CPU per second and bytes per day of a Keep whose workload logs nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from warn_load import LOGGER, TEMPLATE, arguments  # noqa: E402 - after the path is set

PY = sys.executable
SEALOG = str(Path(PY).with_name("sealog"))
BURSTS = (2_000, 10_000, 100_000)
GOAL_RATE = 150
SUSTAINED_SECONDS = 12
TIMING_RECORDS = 100_000
TIMING_INTERVAL = 0.025
QUIET_SECONDS = 3.0
IDLE_SECONDS = 10


def _run(tmp: Path, store: str, *cmd: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [SEALOG, "run", "--owner", str(tmp / "owner.pub"), "--profile", "production",
         "--store", str(tmp / store), "--", *cmd],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - t0


def _owner_records(tmp: Path, store: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [SEALOG, "read", str(tmp / store), "--key", str(tmp / "owner.key"), "--json"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return [json.loads(line) for line in done.stdout.splitlines()]


def _verified(tmp: Path, store: str) -> bool:
    done = subprocess.run(
        [SEALOG, "verify", str(tmp / store), "--key", str(tmp / "owner.key")],
        check=False, capture_output=True,
    )  # fmt: skip
    return done.returncode == 0


def bursts(tmp: Path) -> dict[str, Any]:
    """Each burst size once under the built-in production profile."""
    out = {}
    for n in BURSTS:
        store = f"burst-{n}"
        seconds = _run(tmp, store, PY, str(HERE / "warn_load.py"), str(n))
        recs = _owner_records(tmp, store)
        mine = [r for r in recs if r["logger"] == LOGGER]
        closing = recs[-1]["fields"]
        out[str(n)] = {
            "reached": len({(r["time"], r["message"]) for r in mine}),
            "duplicates": len(mine) - len({(r["time"], r["message"]) for r in mine}),
            "dropped": closing.get("dropped"),
            "intact": _verified(tmp, store),
            "seconds": seconds,
            "frames": recs[-1]["seq"] + 1,
        }
    return out


def capacity(tmp: Path) -> dict[str, Any]:
    """Rows per second the built-in production profile carries, then a short real run."""
    from sealog.keep._backlog import Backlog
    from sealog.keep._session import _PACKS_PER_INTERVAL

    stream = _production_sealer_room()
    rng = random.Random(5)
    per_pack = max(1, GOAL_RATE // _PACKS_PER_INTERVAL)
    backlog = Backlog(None, compress=True)
    rows = 0
    for _ in range(400):
        for _ in range(per_pack):
            args = arguments(rng)
            backlog.admit(
                [time.time(), 30, "workload", LOGGER, TEMPLATE % args, TEMPLATE, None, None]
            )
            rows += 1
        backlog.encode()
    bytes_per_row = len(backlog.ready) / rows
    room, interval = stream
    rate = room / bytes_per_row / interval
    n = GOAL_RATE * SUSTAINED_SECONDS
    _run(tmp, "sustained", PY, str(HERE / "warn_load.py"), str(n), "--rate", str(GOAL_RATE))
    recs = _owner_records(tmp, "sustained")
    closing = recs[-1]["fields"]
    return {
        "bytes_per_row": bytes_per_row,
        "raw_bytes_per_row": len(TEMPLATE % arguments(rng)) + 60,
        "frame_room": room,
        "rows_per_s": rate,
        "run_records": sum(1 for r in recs if r["logger"] == LOGGER),
        "run_expected": n,
        "run_dropped": closing.get("dropped"),
        "run_backlog_peak": closing.get("backlog_peak"),
        "run_seconds": SUSTAINED_SECONDS,
    }


def _production_sealer_room() -> tuple[int, float]:
    """Data bytes in one frame of the built-in production profile, and its interval."""
    from sealog.profile import builtin_profile
    from sealog.seal._evidence import Evidence
    from sealog.seal._header import LaunchConfig
    from sealog.seal._keys import generate_owner_key
    from sealog.seal._writer import start_session

    stream = builtin_profile("production").stream
    owner = generate_owner_key().public_key
    launch = LaunchConfig("production", "production", b"\0" * 32, owner.key_id)
    _, sealer = start_session(
        owner, launch, lambda rd: Evidence("none", "none", rd, b""), bucket=stream.bucket
    )
    return int(sealer.capacity or 0), stream.flush_interval


def _cpu_ticks(pid: int) -> int:
    """utime + stime of a process and of its children still running (clock ticks)."""
    total = 0
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            pids += [int(c) for c in (task / "children").read_text().split()]
    for p in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total


def idle(tmp: Path) -> dict[str, Any]:
    """CPU per idle second (read from /proc while the Keep runs, helper process included)
    and bytes per day of one Keep whose workload sleeps."""
    from sealog.profile import builtin_profile
    from sealog.seal._container import Entry, iter_entries

    proc = subprocess.Popen(
        [SEALOG, "run", "--owner", str(tmp / "owner.pub"), "--profile", "production",
         "--store", str(tmp / "idle"), "--", "sleep", str(IDLE_SECONDS + 3)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(2)  # past start-up
    before = _cpu_ticks(proc.pid)
    time.sleep(IDLE_SECONDS)
    after = _cpu_ticks(proc.pid)
    proc.wait()
    hz = os.sysconf("SC_CLK_TCK")
    (seal,) = (tmp / "idle").glob("*.seal")
    entries = [e for e in iter_entries(seal.read_bytes()) if isinstance(e, Entry)]
    per_frame = statistics.median(len(e.payload) for e in entries[1:]) + 4  # length prefix
    interval = builtin_profile("production").stream.flush_interval
    return {
        "cpu_s_per_s": (after - before) / hz / IDLE_SECONDS,
        "cpu_resolution_s_per_s": 1 / hz / IDLE_SECONDS,
        "frame_bytes_on_disk": per_frame,
        "bytes_per_day": per_frame * 86400 / interval,
    }


def timing() -> dict[str, Any]:
    """p99 of |emission - schedule| during a burst and quiet, same session shape, with the
    frames written by the helper process as under ``sealog run``."""
    from sealog.keep._session import SealedSession
    from sealog.profile import builtin_profile
    from sealog.seal._header import LaunchConfig
    from sealog.seal._keys import generate_owner_key
    from sealog.seal._writer import start_session

    profile = builtin_profile("production")
    stream = replace(profile.stream, flush_interval=TIMING_INTERVAL)
    owner = generate_owner_key().public_key

    def measure(feed: bool, folder: Path) -> tuple[list[float], float]:
        from sealog.host._store import Store
        from sealog.seal._evidence import Evidence

        launch = LaunchConfig("production", "production", b"\0" * 32, owner.key_id)
        header, sealer = start_session(
            owner,
            launch,
            lambda rd: Evidence("none", "none", rd, b""),
            bucket=stream.bucket,
            epoch_frames=stream.epoch_frames,
            checkpoint_every=stream.checkpoint_every,
        )
        sink = Store.create(folder).new_session(header)
        # As `sealog run` does: a helper process writes each frame at its due time.
        session = SealedSession(sealer, sink, profile.owner, stream, timed=True)
        writer = session._writer
        assert writer is not None
        rng = random.Random(3)
        lines = []
        for start in range(0, TIMING_RECORDS, 512):
            batch = []
            for _ in range(min(512, TIMING_RECORDS - start)):
                args = arguments(rng)
                batch.append([time.time(), 30, "workload", LOGGER, TEMPLATE % args, TEMPLATE])
            lines.append(json.dumps([[*r, None, None] for r in batch]).encode())
        took = 0.0

        def pump() -> None:
            # What the runtime's record channel does: parse each line, hand its rows over.
            nonlocal took
            t0 = time.perf_counter()
            for line in lines:
                for row in json.loads(line):
                    session.submit(row)
            took = time.perf_counter() - t0

        time.sleep(TIMING_INTERVAL * 5)
        t = threading.Thread(target=pump)
        first = len(writer.lateness)
        if feed:
            t.start()
            t.join()
        else:
            time.sleep(QUIET_SECONDS)
        time.sleep(TIMING_INTERVAL * 4)
        last = len(writer.lateness)
        session.close()
        deviation = [abs(late) * 1000 for late in list(writer.lateness)[first:last]]
        return deviation, took

    with tempfile.TemporaryDirectory(prefix="sealog-bench-") as d:
        quiet, _ = measure(False, Path(d) / "quiet")
        busy, took = measure(True, Path(d) / "busy")

    def p99(xs: list[float]) -> float:
        return sorted(xs)[max(0, int(len(xs) * 0.99) - 1)]

    return {
        "interval_s": TIMING_INTERVAL,
        "quiet_frames": len(quiet),
        "busy_frames": len(busy),
        "quiet_p99_ms": p99(quiet),
        "busy_p99_ms": p99(busy),
        "quiet_max_ms": max(quiet),
        "busy_max_ms": max(busy),
        "burst_pump_s": took,
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["timing"]:
        sys.stdout.write(json.dumps(timing()) + "\n")
    else:
        raise SystemExit("usage: stream_bench.py timing")
