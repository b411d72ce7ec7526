"""What the system-call trace costs a program that is not Python (``make bench`` section).

Two workloads at the two ends: a syscall-heavy one (``tar`` of a small tree: an open, a stat
and a read for every file) and a compute-heavy one (a ``bash`` arithmetic loop: no system call
in the loop). Each runs plain, and traced exactly as the runtime traces it (the same strace
command line, the FIFO, the parser and the collapse, rows kept in a list instead of sealed),
in turns for a few rounds; wall-time medians and the median of the ratios within each round.
Also ``sealog run`` end to end under ``testing`` (traced) against ``production`` (not traced),
which adds sealing the trace records.

Run alone: ``python bench/trace_cost.py``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sealog.keep._syscalls import probe_strace, start_syscall_trace

ROUNDS = 5
#: Identical failing stats for the collapse figure (run once).
STATS = 1_000_000
FILES = 2_000
LOOP = 150_000
SEALOG = str(Path(sys.executable).with_name("sealog"))


def _tree(root: Path) -> Path:
    """A small source tree: ``FILES`` files of 1 KiB in 40 folders."""
    top = root / "tree"
    for i in range(FILES):
        folder = top / f"d{i % 40:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:05d}.txt").write_bytes(bytes([65 + i % 26]) * 1024)
    return top


def _plain(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _traced(cmd: list[str], rows: list[Any] | None = None) -> tuple[float, int, int]:
    """Wall time under the runtime's trace, calls seen and rows made."""
    rows = [] if rows is None else rows
    t0 = time.perf_counter()
    trace = start_syscall_trace(cmd, rows.append)
    subprocess.run(
        trace.command(cmd), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    trace.finish()
    took = time.perf_counter() - t0
    return took, trace.calls, len(rows)


def _sealog_run(pub: Path, store: Path, profile: str, cmd: list[str]) -> float:
    return _plain(
        [
            SEALOG,
            "run",
            "--owner",
            str(pub),
            "--profile",
            profile,
            "--store",
            str(store),
            "--",
            *cmd,
        ]
    )


def _collapse(tmp: Path) -> dict[str, Any]:
    """``STATS`` identical failing stats (a shell loop of ``test -e``): records and exact count."""
    missing = tmp / "not-there"
    cmd = ["bash", "-c", f"for ((i=0;i<{STATS};i++)); do test -e {missing}; done; exit 0"]
    plain = _plain(cmd)
    rows: list[Any] = []
    traced, calls, _ = _traced(cmd, rows)
    message = next(r.message for r in rows if str(missing) in r.message)
    counted = sum(1 for r in rows if r.message == message) + sum(
        r.fields["repeats"].get(message, 0) for r in rows if r.message.startswith("trace summary:")
    )
    return {
        "plain_s": plain,
        "traced_s": traced,
        "calls": calls,
        "rows": len(rows),
        "rows_of_the_stat": sum(1 for r in rows if r.message == message),
        "counted": counted,
    }


def measure() -> dict[str, Any]:
    """Every figure of the section (an ``unavailable`` entry when strace cannot trace)."""
    options, status = probe_strace()
    if options is None:
        return {"unavailable": status}
    out: dict[str, Any] = {"strace": status}
    with tempfile.TemporaryDirectory(prefix="sealog-bench-trace-") as d:
        tmp = Path(d)
        tree = _tree(tmp)
        subprocess.run([SEALOG, "keygen", str(tmp / "owner")], check=True, capture_output=True)
        pub = tmp / "owner.pub"
        workloads = {
            "tar": ["tar", "-cf", str(tmp / "out.tar"), "-C", str(tree.parent), tree.name],
            "compute": ["bash", "-c", f"x=0; for ((i=0;i<{LOOP};i++)); do x=$(((x+i*i)%7)); done"],
        }
        for name, cmd in workloads.items():
            plain: list[float] = []
            traced: list[float] = []
            untraced_run: list[float] = []
            traced_run: list[float] = []
            calls = rows = 0
            for r in range(ROUNDS):
                plain.append(_plain(cmd))
                took, calls, rows = _traced(cmd)
                traced.append(took)
                untraced_run.append(_sealog_run(pub, tmp / f"p-{name}-{r}", "production", cmd))
                traced_run.append(_sealog_run(pub, tmp / f"t-{name}-{r}", "testing", cmd))
            out[name] = {
                "plain_s": statistics.median(plain),
                "traced_s": statistics.median(traced),
                "ratio": statistics.median(t / p for t, p in zip(traced, plain, strict=True)),
                "run_production_s": statistics.median(untraced_run),
                "run_testing_s": statistics.median(traced_run),
                "run_ratio": statistics.median(
                    t / p for t, p in zip(traced_run, untraced_run, strict=True)
                ),
                "calls": calls,
                "rows": rows,
            }
        out["collapse"] = _collapse(tmp)
    return out


def render(res: dict[str, Any]) -> list[str]:
    """The section as Markdown lines."""
    lines = ["## System-call trace of a program that is not Python", ""]
    if "unavailable" in res:
        return [*lines, f"Not measured: {res['unavailable']}.", ""]
    lines += [
        f"{res['strace']}, the runtime's call filter; wall-time medians of {ROUNDS} rounds in "
        "turns. `tar`: archiving",
        f"{FILES:,} files of 1 KiB; compute: a `bash` loop of {LOOP:,} arithmetic steps. "
        "Traced: under the runtime's",
        "strace command line, parsed and collapsed (not sealed); `sealog run`: testing (traced) "
        "against production.",
        "",
        "| workload | plain s | traced s | slowdown | calls traced | records | "
        "`sealog run` production s | testing s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in (("tar", "tar of a small tree"), ("compute", "bash arithmetic loop")):
        r = res[name]
        lines.append(
            f"| {label} | {r['plain_s']:.3f} | {r['traced_s']:.3f} | {r['ratio']:.2f}x | "
            f"{r['calls']:,} | {r['rows']:,} | {r['run_production_s']:.3f} | "
            f"{r['run_testing_s']:.3f} | {r['run_ratio']:.2f}x |"
        )
    c = res["collapse"]
    lines += [
        "",
        f"Collapse: a `bash` loop of {STATS:,} `test -e` on a missing file ran in "
        f"{c['plain_s']:.1f} s plain and {c['traced_s']:.1f} s traced; the trace",
        f"saw {c['calls']:,} calls and made {c['rows']:,} records in all, {c['rows_of_the_stat']} "
        f"of them for the stat, whose counts add up to {c['counted']:,}.",
        "",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(render(measure())))
