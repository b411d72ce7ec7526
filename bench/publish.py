"""The figures a run quotes elsewhere: the README's performance table and the results table of
docs/performance.md, written between markers by the run itself, so that every quoted figure
comes from one run and none is copied by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _met(value: float, limit: float, *, higher: bool = False) -> bool:
    return value >= limit if higher else value <= limit


def _goal(text: str, met: bool) -> str:
    return text if met else f"{text}, not met"


def headline(res: dict[str, Any], mach: dict[str, str]) -> list[str]:
    """The README's table: the figures a user compares, each with its goal."""
    run, fx, rg, df = res["run"], res["fixed"], res["reading"], res["diff"]
    r = {k: res[k]["ratio"] for k in ("sealog-production", "sealog-testing", "sealog-development")}
    peers = " / ".join(f"{res[k]['ratio']:.2f}x" for k in ("picologging", "structlog", "loguru"))
    filt = res["debug:sealog-production-ring-info"]["ratio"]
    added = fx["python:production"] - fx["python:plain"]
    reading = rg["ratio"]
    cap = res["capacity"]["rows_per_s"]
    tim = res["timing"]
    gap = tim["busy_p99_ms"] - tim["quiet_p99_ms"]
    lost = sum(int(n) - b["reached"] + b["duplicates"] for n, b in res["bursts"].items())
    lines_us = res["lines"]["mix_added_us"]

    def e2e(profile: str, goal: float) -> str:
        ratio = run[f"{profile}_ratio"]
        return (
            f"| `sealog run --profile {profile}`, end to end (wall; CPU "
            f"{run[profile + '_cpu_ratio']:.2f}x) | {ratio:.2f}x | "
            f"{_goal(f'{goal}x', _met(ratio, goal))} |"
        )

    rows = [
        f"On a {mach['cores']}-core {mach['CPU']}, Python {mach['Python']}, the same mixed",
        "workload (DEBUG to ERROR, templates, extra fields), ratios to stdlib `logging` to a file:",
        "",
        "| | ratio | goal |",
        "|---|---:|---:|",
        "| in-process, `production` (WARNING+ sealed, the rest in the flight recorder) | "
        f"{r['sealog-production']:.2f}x | |",
        f"| in-process, `testing` (every record sealed) | {r['sealog-testing']:.2f}x | "
        f"{_goal('1.0x', _met(r['sealog-testing'], 1.0))} |",
        "| in-process, `development` (sealed *and* copied in clear to the host) | "
        f"{r['sealog-development']:.2f}x | {_goal('1.2x', _met(r['sealog-development'], 1.2))} |",
        f"| picologging / structlog / loguru, for comparison | {peers} | |",
        "| a DEBUG call the profile filters, to stdlib's disabled-level check | "
        f"{filt:.2f}x | {_goal('1.1x', _met(filt, 1.1))} |",
        e2e("production", 1.3),
        e2e("testing", 1.15),
        e2e("development", 1.3),
        "| the workload's own logging loop under `sealog run --profile testing` | "
        f"{run['testing_own_ratio']:.2f}x | |",
        f"| `sealog run` of a workload that logs nothing, added | {added:+.2f} s | "
        f"{_goal('0.2 s', _met(added, 0.2))} |",
        "| production: bursts of 2k / 10k / 100k WARNINGs reaching the owner | "
        f"{'all, once' if not lost else f'{lost} lost or doubled'} | "
        f"{_goal('all', not lost)} |",
        f"| production: sustained WARNINGs per second, no backlog growth | {cap:.0f}/s | "
        f"{_goal('150/s', _met(cap, 150, higher=True))} |",
        f"| p99 emission deviation during a 100k burst, above quiet | {gap:+.1f} ms | "
        f"{_goal('5 ms', _met(gap, 5.0))} |",
        "| owner: `read --json` / `read` / `verify`, to `json.loads` of the records | "
        f"{reading['read_json']:.2f}x / {reading['read_text']:.2f}x / {reading['verify']:.2f}x | "
        + _goal(
            "1.5x / 2.0x / 1.0x",
            _met(reading["read_json"], 1.5)
            and _met(reading["read_text"], 2.0)
            and _met(reading["verify"], 1.0),
        )
        + " |",
        f"| owner: `diff` of 20k against 750k records | {df['seconds']:.1f} s, "
        f"{df['peak_rss_kib'] / 1024:.0f} MiB | "
        f"{_goal('20 s, 200 MiB', df['seconds'] < 20 and df['peak_rss_kib'] < 200 * 1024)} |",
        f"| line understanding, per captured line | +{lines_us:.2f} us | "
        f"{_goal('2 us', _met(lines_us, 2.0))} |",
    ]
    if "fleet" in res:
        tp, lat = res["fleet"]["throughput"], res["fleet"]["latency"]
        rows += [
            f"| relay to NATS JetStream, to a plain nats-py publish | {tp['ratio']:.2f}x | "
            f"{_goal('0.7x', _met(tp['ratio'], 0.7, higher=True))} |",
            f"| logging call to `read --follow` through NATS (max) | {lat['max_s']:.2f} s | "
            f"{_goal('1.5 s', _met(lat['max_s'], 1.5))} |",
        ]
    aead = res["aead"]
    per_record = aead["4096"]["us_per_call"] / (4096 / aead["row_bytes"])
    rows += [
        "",
        "The logging call makes no system call and no AEAD call for records below ERROR (a counted",
        f"test guards this); AES-GCM costs about {per_record:.2f} us per record in 4 KiB frames.",
    ]
    return rows


def results_table(
    targets: list[tuple[str, str, str]], mach: dict[str, str], when: str
) -> list[str]:
    """docs/performance.md's results: every goal of the run, met or not."""
    return [
        f"From the run of {when} on {mach['cores']} cores of an {mach['CPU']}, Python "
        f"{mach['Python']} (`bench/results.md` has every figure and how it was measured):",
        "",
        "| goal | measured | |",
        "|---|---:|---|",
        *[f"| {goal} | {measured} | {verdict} |" for goal, measured, verdict in targets],
    ]


def replace_between(path: Path, name: str, lines: list[str]) -> None:
    """Put ``lines`` between the ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` markers.

    Raises:
        SystemExit: the file lacks the markers (a run must not write figures nowhere).
    """
    text = path.read_text(encoding="utf-8")
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{path}: no {start} ... {end} markers")
    body = "\n".join([start, *lines, end])
    path.write_text(pattern.sub(lambda _: body, text, count=1), encoding="utf-8")


def publish(
    res: dict[str, Any],
    mach: dict[str, str],
    targets: Callable[[dict[str, Any]], list[tuple[str, str, str]]],
    when: str,
) -> None:
    """Write the README's table and the docs' results from this run."""
    replace_between(ROOT / "README.md", "headline", headline(res, mach))
    replace_between(
        ROOT / "docs" / "performance.md", "results", results_table(targets(res), mach, when)
    )
