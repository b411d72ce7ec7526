"""Session transparency costs: ``python bench/announce.py [ENTRIES...]`` prints one JSON line each.

For an audit log already holding ENTRIES entries (default 100 and 1000), measures:

* ``announce_ms``: the operator's ``announce_session`` (look the session up, append, sign a tree
  head, build the proof), median of 20;
* ``check_ms``: the Keep's ``check_announcement`` of the bundle it gets, median of 200;
* ``bundle_bytes``: the bundle's size (what the Keep seals into its stream);
* ``keep_wait_ms``: with a real ``sealog run``, from the Keep's ``keep.announce_wanted`` to its
  ``keep.announced`` when the operator appends at once (the Keep's own event times), median of 5:
  what announcements add to a Keep's start beyond the operator's own reaction.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from sealog.audit import (
    AuditLog,
    SigningKey,
    announce_session,
    announcement_file,
    check_announcement,
    parse_control_policy,
)
from sealog.seal import LaunchConfig, generate_owner_key, read_session_header
from sealog.seal._keys import write_key_pair
from sealog.seal._writer import start_session
from streams import none_evidence


def measure(entries: int) -> dict[str, float | int]:
    owner = generate_owner_key().public_key
    launch = LaunchConfig("production", "production", b"\x11" * 32, owner.key_id)
    log_key = SigningKey.generate()
    policy = parse_control_policy(
        f'format = 1\naudit_log_key = "{log_key.public_key.to_text()}"\n'
        "announce_sessions = true\napprovers = []\n[targets]\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        log = AuditLog.init(Path(tmp) / "log", log_key)
        for i in range(entries):
            log.append(f"filler entry {i}".encode())
        announce, check = [], []
        bundle = None
        header = None
        for _ in range(20):
            header, _sealer = start_session(owner, launch, none_evidence, keep_id="k1")
            t0 = time.perf_counter()
            bundle = announce_session(log, header)
            announce.append(time.perf_counter() - t0)
        assert bundle is not None
        assert header is not None
        for _ in range(200):
            t0 = time.perf_counter()
            check_announcement(bundle, header, policy, now=datetime.now(UTC))
            check.append(time.perf_counter() - t0)
        return {
            "entries": entries,
            "announce_ms": round(statistics.median(announce) * 1000, 2),
            "check_ms": round(statistics.median(check) * 1000, 3),
            "bundle_bytes": len(bundle.to_json()),
        }


def keep_wait(runs: int = 5) -> dict[str, float]:
    waits = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        owner = generate_owner_key()
        write_key_pair(owner, root / "owner")
        log_key = SigningKey.generate()
        log = AuditLog.init(root / "log", log_key)
        policy = root / "policy.toml"
        policy.write_text(
            f'format = 1\naudit_log_key = "{log_key.public_key.to_text()}"\n'
            "announce_sessions = true\napprovers = []\n[targets]\n"
        )
        control = root / "control"
        control.mkdir()
        for _ in range(runs):
            proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "sealog", "run", "--owner", str(root / "owner.pub")),
                    *("--store", str(root / "store"), "--control-policy", str(policy)),
                    *("--control", str(control), "--", "true"),
                ],
                stderr=subprocess.PIPE,
                text=True,
            )
            assert proc.stderr is not None
            times = {}
            for line in proc.stderr:
                event = json.loads(line)
                times[event["event"]] = event["time"]
                if event["event"] == "keep.announce_wanted":
                    sid = event["session"]
                    header = read_session_header(root / "store" / f"{sid}.seal")
                    announce_session(log, header).save(announcement_file(control, sid))
            proc.wait()
            waits.append(times["keep.announced"] - times["keep.announce_wanted"])
    return {"keep_wait_ms": round(statistics.median(waits) * 1000, 1)}


def main() -> None:
    for entries in [int(a) for a in sys.argv[1:]] or [100, 1000]:
        print(json.dumps(measure(entries)))
    print(json.dumps(keep_wait()))


if __name__ == "__main__":
    main()
