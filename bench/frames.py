"""What one frame costs to seal and to open: ``python bench/frames.py [FRAMES]``.

Stream format 2 derives a fresh AEAD key per frame and a fresh signing key per epoch; this
measures the price of that on this machine, for padded frames of the production bucket (4 KiB).
Prints one JSON object: microseconds per frame to seal and to open (best of 5 runs).
"""

from __future__ import annotations

import json
import os
import sys
import time

from sealog.seal import Evidence, LaunchConfig, generate_owner_key
from sealog.seal._frames import FrameOpener
from sealog.seal._writer import start_session


def _none(report_data: bytes) -> Evidence:
    return Evidence("none", "none", report_data, b"bench")


def measure(frames: int, bucket: int = 4096) -> dict[str, float]:
    """Best-of-5 microseconds per frame to seal, and to open, ``frames`` padded frames."""
    owner = generate_owner_key()
    launch = LaunchConfig("bench", "production", bytes(32), owner.public_key.key_id)
    best_seal = best_open = float("inf")
    for _ in range(5):
        header, sealer = start_session(owner.public_key, launch, _none, bucket=bucket)
        data = os.urandom((sealer.capacity or bucket) - 100)
        t0 = time.perf_counter()
        sealed = [sealer.seal(data) for _ in range(frames)]
        best_seal = min(best_seal, time.perf_counter() - t0)
        opener = FrameOpener(header, owner.open(header.enc, header.hpke_info))
        t0 = time.perf_counter()
        for payload in sealed:
            opener.open(payload)
        best_open = min(best_open, time.perf_counter() - t0)
    return {
        "frames": frames,
        "bucket": bucket,
        "seal_us_per_frame": round(best_seal / frames * 1e6, 1),
        "open_us_per_frame": round(best_open / frames * 1e6, 1),
    }


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)))
