"""Session transparency costs: ``python bench/announce.py [ENTRIES...]`` prints one JSON line each.

For an audit log already holding ENTRIES entries (default 100 and 1000), measures:

* ``announce_ms``: the operator's ``announce_session`` (look the session up, append, sign a tree
  head, build the proof), median of 20;
* ``check_ms``: the Keep's ``check_announcement`` of the bundle it gets, median of 200;
* ``bundle_bytes``: the bundle's size (what the Keep seals into its stream).
"""

from __future__ import annotations

import json
import statistics
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
    check_announcement,
    parse_control_policy,
)
from sealog.seal import LaunchConfig, generate_owner_key
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


def main() -> None:
    for entries in [int(a) for a in sys.argv[1:]] or [100, 1000]:
        print(json.dumps(measure(entries)))


if __name__ == "__main__":
    main()
