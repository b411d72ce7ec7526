"""The workload of the constant-rate measurements: WARNINGs of about 100 characters.

``python bench/warn_load.py N`` logs N WARNINGs as fast as it can (a burst);
``python bench/warn_load.py N --rate R`` logs them at R per second (a sustained load).
Messages vary the way a real service's do (ids, durations, hosts), from a fixed seed.
"""

from __future__ import annotations

import logging
import random
import sys
import time
from typing import Any

LOGGER = "app.upstream"
TEMPLATE = "upstream %s answered %d after %d ms for order %s; retrying with backoff (attempt %d)"
HOSTS = ("pay-1.internal", "pay-2.internal", "ledger.internal", "fraud-3.internal")


def arguments(rng: random.Random) -> tuple[Any, ...]:
    """One message's arguments (the rendered message is about 100 characters)."""
    return (
        rng.choice(HOSTS),
        rng.choice((500, 502, 503, 504)),
        rng.randint(200, 9000),
        f"ord-{rng.randint(10**7, 10**8 - 1)}",
        rng.randint(1, 5),
    )


def main(argv: list[str]) -> None:
    n = int(argv[0])
    rate = float(argv[argv.index("--rate") + 1]) if "--rate" in argv else 0.0
    rng = random.Random(12)
    log = logging.getLogger(LOGGER)
    start = time.monotonic()
    for i in range(n):
        if rate:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        log.warning(TEMPLATE, *arguments(rng))


if __name__ == "__main__":
    main(sys.argv[1:])
