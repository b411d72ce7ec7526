"""The benchmark's workload: one realistic mix of log records, shared by every contender.

A pool of records is generated once from a fixed seed (levels, loggers, templates, arguments,
extra fields, an occasional exception) and logged in a cycle, so every contender logs exactly
the same calls and the pool, not the record count, bounds the benchmark's own memory.

Mix: 30 % DEBUG, 55 % INFO, 13 % WARNING, 1.8 % ERROR, 0.2 % ERROR with a traceback.

Run as a script it is the workload of the ``sealog run`` measurement:
``python bench/workload.py N [--file PATH] [--timing PATH]`` logs N records to the root logger
(and to a ``FileHandler`` on PATH when given: the plain run without sealog); ``--timing`` writes
the seconds its logging loop took.
"""

from __future__ import annotations

import logging
import random
import sys
import time
from collections.abc import Callable
from typing import Any

POOL = 10_000

Call = tuple[int, str, str, tuple[Any, ...], dict[str, Any] | None, Any]

LOGGERS = ("app.http", "app.db", "app.cache", "app.auth", "app.payments", "app.jobs")
PATHS = ("/api/v1/items", "/api/v1/orders", "/api/v1/users/me", "/healthz", "/api/v1/search")


def _exc_info() -> Any:
    def parse(payload: str) -> int:
        return int(payload)

    def handle(job: int) -> int:
        return parse(f"job-{job}")

    try:
        handle(7)
    except ValueError:
        return sys.exc_info()
    raise AssertionError("unreachable")


def make_pool(n: int = POOL, seed: int = 1) -> list[Call]:
    """``n`` logging calls: (level, logger name, template, args, extra, exc_info)."""
    rnd = random.Random(seed)
    exc = _exc_info()
    pool: list[Call] = []
    for i in range(n):
        p = rnd.random()
        user = f"user{rnd.randrange(500)}"
        rid = f"{rnd.getrandbits(64):016x}"
        if p < 0.15:
            pool.append(
                (
                    10,
                    "app.db",
                    "query %s returned %d rows in %.3f ms",
                    (f"select_{rnd.randrange(40)}", rnd.randrange(200), rnd.random() * 8),
                    None,
                    None,
                )
            )
        elif p < 0.30:
            pool.append(
                (
                    10,
                    "app.cache",
                    "cache %s for key %r",
                    (rnd.choice(("hit", "miss")), f"user:{rnd.randrange(311)}"),
                    None,
                    None,
                )
            )
        elif p < 0.70:
            pool.append(
                (
                    20,
                    "app.http",
                    "%s %s -> %d in %.2f ms",
                    (
                        rnd.choice(("GET", "POST")),
                        f"{rnd.choice(PATHS)}/{i % 977}",
                        rnd.choice((200, 200, 200, 201, 204, 404)),
                        rnd.random() * 50,
                    ),
                    {"request_id": rid, "user": user},
                    None,
                )
            )
        elif p < 0.85:
            pool.append(
                (
                    20,
                    "app.auth",
                    "user %s signed in from %s",
                    (user, f"10.0.{rnd.randrange(256)}.{rnd.randrange(256)}"),
                    {"method": "sso"},
                    None,
                )
            )
        elif p < 0.98:
            pool.append(
                (
                    30,
                    "app.http",
                    "slow request %s took %.1f ms (limit %d ms)",
                    (f"{rnd.choice(PATHS)}/{i % 977}", 200 + rnd.random() * 800, 200),
                    {"request_id": rid},
                    None,
                )
            )
        elif p < 0.998:
            pool.append(
                (
                    40,
                    "app.payments",
                    "payment %s failed: %s",
                    (rid[:12], rnd.choice(("card declined", "timeout", "insufficient funds"))),
                    {"request_id": rid, "amount_cents": rnd.randrange(100, 50_000)},
                    None,
                )
            )
        else:
            pool.append((40, "app.jobs", "job %d failed", (i,), {"attempt": 1 + i % 3}, exc))
    return pool


def stdlib_caller(pool: list[Call]) -> Callable[[int], None]:
    """``run(n)``: the first ``n`` calls of the cycled pool through stdlib ``logging``."""
    loggers = {name: logging.getLogger(name) for name in LOGGERS}
    calls = [
        (loggers[name].log, lvl, tpl, args, extra, exc) for lvl, name, tpl, args, extra, exc in pool
    ]

    def run(n: int) -> None:
        size = len(calls)
        for i in range(n):
            log, lvl, tpl, args, extra, exc = calls[i % size]
            log(lvl, tpl, *args, extra=extra, exc_info=exc)

    return run


def main(argv: list[str]) -> None:
    n = int(argv[0])
    root = logging.getLogger()
    if "--file" in argv:
        handler = logging.FileHandler(argv[argv.index("--file") + 1])
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
    run = stdlib_caller(make_pool())
    t0 = time.perf_counter()
    run(n)
    took = time.perf_counter() - t0
    if "--timing" in argv:
        # The workload's own time in its logging loop: does it ever wait on the runtime?
        with open(argv[argv.index("--timing") + 1], "w") as fh:
            fh.write(f"{took}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
