"""The runtime trace and the platform fingerprint (DESIGN.md section 7).

A busy workload must not drown its owner's trace or its own speed: repeats collapse, distinct
events are rate-limited per window, and what is dropped is always counted (never silent). The
fingerprint must report what a Keep's kernel file systems say about the platform.

Volume and cost are measured here; run with ``-s`` to see the numbers. Assertions are on
counts, never on time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.keep._fingerprint import CPU_FLAGS, DEVICES, platform_fingerprint
from sealog.keep._trace import TRACED, Tracer
from sealog.profile import builtin_text
from sealog.seal import Row

SEALOG = [sys.executable, "-m", "sealog"]
_SUMMARY = re.compile(r"trace summary: (\d+) repeats collapsed, (\d+) events over the rate limit")


def fields_of(row: Row) -> dict[str, Any]:
    """A trace row's fields (the tracer gives every row some)."""
    assert row.fields is not None, row
    return row.fields


class ListSink:
    """Collects the rows a tracer hands over, as the workload's pipe would."""

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def submit(self, row: Row) -> None:
        self.rows.append(row)

    def trace_rows(self) -> list[Row]:
        return [r for r in self.rows if not str(r[4]).startswith("trace summary:")]

    def summaries(self) -> list[Row]:
        return [r for r in self.rows if str(r[4]).startswith("trace summary:")]

    def counted(self) -> tuple[int, int]:
        """(repeats collapsed, events over the limit), summed over every summary's message."""
        repeats = over = 0
        for row in self.summaries():
            m = _SUMMARY.fullmatch(row[4])
            assert m, row[4]
            repeats += int(m.group(1))
            over += int(m.group(2))
        return repeats, over


class Clock:
    """Injected time: windows close when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def traced() -> tuple[Tracer, ListSink, Clock]:
    sink, clock = ListSink(), Clock()
    return Tracer(sink, clock=clock), sink, clock


# -- volume control, with injected time -------------------------------------------------------


def test_workload_opening_one_file_10000_times_yields_one_record_and_the_count(
    traced: tuple[Tracer, ListSink, Clock],
) -> None:
    tracer, sink, _clock = traced
    for _ in range(10_000):
        tracer("open", ("/etc/app.conf", "r", 524288))
    tracer.flush()
    assert [r[4] for r in sink.trace_rows()] == ["open /etc/app.conf r"]
    (summary,) = sink.summaries()
    assert summary[7] == {
        "tracer": "audit-hook",
        "repeats": {"open /etc/app.conf r": 9_999},
        "repeats_total": 9_999,
        "over_limit": 0,
    }
    assert tracer.events == 10_000
    assert tracer.rows == 2


def test_repeats_spread_over_windows_give_one_record_per_window(
    traced: tuple[Tracer, ListSink, Clock],
) -> None:
    tracer, sink, clock = traced
    for i in range(10_000):
        if i and i % 2_500 == 0:
            clock.now += 1.0
        tracer("open", ("/etc/app.conf", "r"))
    tracer.flush()
    assert len(sink.trace_rows()) == 4
    assert len(sink.summaries()) == 4
    assert sink.counted() == (10_000 - 4, 0)


def test_distinct_events_over_the_rate_limit_are_counted_not_silent(
    traced: tuple[Tracer, ListSink, Clock],
) -> None:
    tracer, sink, clock = traced
    for i in range(500):
        tracer("open", (f"/data/{i}.bin", "rb"))
    clock.now += 1.0
    tracer("open", ("/data/next-window.bin", "rb"))  # the limit is per window: recorded again
    tracer.flush()
    trace_rows = sink.trace_rows()
    assert len(trace_rows) == 201
    assert trace_rows[-1][4] == "open /data/next-window.bin rb"
    (summary,) = sink.summaries()  # the second window had nothing to count: no summary
    assert fields_of(summary)["over_limit"] == 300
    assert "300 events over the rate limit" in summary[4]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["open", "import", "socket.connect", "os.listdir", "compile"]),
            st.integers(0, 400),
            st.booleans(),
        ),
        max_size=1_500,
    )
)
def test_every_traced_event_is_recorded_or_counted(steps: list[tuple[str, int, bool]]) -> None:
    """Whatever the mix and timing: recorded + repeats + over the limit == traced events."""
    sink, clock = ListSink(), Clock()
    tracer = Tracer(sink, clock=clock)
    traced_events = 0
    for event, n, tick in steps:
        if tick:
            clock.now += 0.37
        tracer(event, (f"/x/{n}", "r"))
        traced_events += event in TRACED
    tracer.flush()
    repeats, over = sink.counted()
    assert len(sink.trace_rows()) + repeats + over == traced_events == tracer.events


def test_untraced_events_cost_nothing_and_the_sink_cannot_recurse() -> None:
    class Echo(ListSink):
        def submit(self, row: Row) -> None:
            super().submit(row)
            tracer("open", ("/from/the/sink", "r"))  # our own I/O must not be traced

    sink = Echo()
    tracer = Tracer(sink, clock=Clock())
    tracer("compile", (b"x = 1", "<string>"))
    tracer("object.__getattr__", (object(), "x"))
    tracer("open", ("/etc/hosts", "r"))
    assert [r[4] for r in sink.rows] == ["open /etc/hosts r"]
    assert tracer.events == 1


def test_arguments_are_summarised_and_bounded(traced: tuple[Tracer, ListSink, Clock]) -> None:
    tracer, sink, _clock = traced
    tracer("open", (Path("/srv") / ("x" * 400), "r"))
    tracer("open", (b"/bytes/path", "rb"))
    tracer("import", ("json", None, ["/usr/lib"], [], []))  # only the module name is kept
    long_row, bytes_row, import_row = sink.rows
    assert len(fields_of(long_row)["args"][0]) == 160
    assert fields_of(long_row)["args"][0].endswith("...")
    assert fields_of(bytes_row)["args"] == ["/bytes/path", "rb"]
    assert import_row[7] == {"tracer": "audit-hook", "event": "import", "args": ["json"]}
    assert {r[1] for r in sink.rows} == {10}
    assert {(r[2], r[3]) for r in sink.rows} == {("runtime", "sealog.trace")}


def test_failed_open_is_recorded_as_a_warning_with_the_error(
    traced: tuple[Tracer, ListSink, Clock],
) -> None:
    tracer, sink, _clock = traced
    tracer.record_outcome(
        "open", ["/etc/probe.conf", "r"], "FileNotFoundError: [Errno 2] No such file"
    )
    (row,) = sink.rows
    assert row[1] == 30
    assert row[4] == "open failed: FileNotFoundError: [Errno 2] No such file"
    assert row[7] == {
        "tracer": "audit-hook",
        "event": "open",
        "args": ["/etc/probe.conf", "r"],
        "error": "FileNotFoundError: [Errno 2] No such file",
    }


def test_tracer_call_cost_is_measured(traced: tuple[Tracer, ListSink, Clock]) -> None:
    """In-process cost of the hook itself: one repeated event, and all-distinct events."""
    tracer, sink, clock = traced
    n = 100_000
    t0 = time.perf_counter()
    for _ in range(n):
        tracer("open", ("/etc/app.conf", "r"))
    repeated = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for i in range(n):
        if i % 1_000 == 0:
            clock.now += 1.0
        tracer("open", (f"/data/{i}", "r"))
    distinct = (time.perf_counter() - t0) / n
    untraced_t0 = time.perf_counter()
    for _ in range(n):
        tracer("compile", (b"", "<x>"))
    untraced = (time.perf_counter() - untraced_t0) / n
    print(
        f"\ntracer cost per event: repeated {repeated * 1e6:.2f} us, distinct "
        f"{distinct * 1e6:.2f} us, untraced {untraced * 1e6:.2f} us; rows {len(sink.rows)} "
        f"for {tracer.events} traced events"
    )
    # 100 windows of 1,000 distinct events: 200 recorded each, the rest counted
    assert len(sink.trace_rows()) == 1 + 100 * 200
    assert tracer.events == 2 * n


# -- a real busy workload under ``sealog run --profile testing`` -----------------------------

BUSY = """
    import logging, os, sys, time
    log = logging.getLogger("busy")
    folder = sys.argv[1]
    t0 = time.perf_counter()
    for _ in range(10_000):
        with open(os.path.join(folder, "same.txt")) as fh:
            fh.read()
    t1 = time.perf_counter()
    for i in range(1_000):
        with open(os.path.join(folder, "files", f"{i}.txt")) as fh:
            fh.read()
    t2 = time.perf_counter()
    log.info("done", extra={"same_s": t1 - t0, "distinct_s": t2 - t1})
"""

MISSING = """
    import logging, sys
    for _ in range(int(sys.argv[1])):
        try:
            open("/nonexistent/sealog-probe.conf")
        except OSError:
            pass
    logging.getLogger("retry").info("gave up")
"""


def _profile(folder: Path, trace: bool) -> Path:
    text = builtin_text("testing").replace("trace = true", f"trace = {str(trace).lower()}")
    assert f"trace = {str(trace).lower()}" in text
    path = folder / f"testing-trace-{trace}.toml"
    path.write_text(text)
    return path


def _run(folder: Path, name: str, script: str, *args: str, trace: bool = True) -> Iterator[Any]:
    """Run ``script`` in a sealed session; yield the owner's records as JSON objects."""
    key = folder / "owner"
    if not key.with_suffix(".key").exists():
        subprocess.run([*SEALOG, "keygen", key], check=True, capture_output=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(script))
    store = folder / f"store-{name}"
    done = subprocess.run(
        [
            *SEALOG, "run", "--owner", key.with_suffix(".pub"), "--profile",
            _profile(folder, trace), "--store", store, "--",
            sys.executable, folder / f"{name}.py", *args,
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    read = subprocess.run(
        [*SEALOG, "read", store, "--key", key.with_suffix(".key"), "--json"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    size = sum(p.stat().st_size for p in store.glob("*.seal"))
    yield size
    yield from (json.loads(line) for line in read.stdout.splitlines())


def test_busy_workload_trace_stays_small_and_counted(tmp_path: Path) -> None:
    """10,000 opens of one file and 1,000 of distinct files, traced and untraced."""
    (tmp_path / "same.txt").write_text("x")
    (tmp_path / "files").mkdir()
    for i in range(1_000):
        (tmp_path / "files" / f"{i}.txt").write_text("y")
    measured = {}
    traced_records: list[Any] = []
    for trace in (False, True):
        size, *records = _run(tmp_path, f"busy-{trace}", BUSY, str(tmp_path), trace=trace)
        done = next(r for r in records if r["logger"] == "busy")
        measured[trace] = (size, len(records), done["fields"])
        traced_records = records
    records = traced_records
    same = str(tmp_path / "same.txt")
    same_rows = [r for r in records if r["logger"] == "sealog.trace" and same in r["message"]]
    distinct = [r for r in records if r["logger"] == "sealog.trace" and "/files/" in r["message"]]
    summaries = [r for r in records if r["message"].startswith("trace summary:")]
    repeats = sum(r["fields"]["repeats"].get(f"open {same} r", 0) for r in summaries)
    over = sum(r["fields"]["over_limit"] for r in summaries)
    print(
        f"\nbusy workload, 11,000 opens: untraced {measured[False][1]} records, "
        f"{measured[False][0]} bytes sealed; traced {measured[True][1]} records, "
        f"{measured[True][0]} bytes sealed"
    )
    for trace, (nbytes, nrec, fields) in measured.items():
        print(
            f"  trace={trace}: 10,000 same-file opens {fields['same_s'] * 1e3:.1f} ms "
            f"({fields['same_s'] / 10_000 * 1e6:.2f} us each), 1,000 distinct "
            f"{fields['distinct_s'] * 1e3:.1f} ms ({fields['distinct_s'] / 1_000 * 1e6:.2f} us "
            f"each); {nrec} records, {nbytes} bytes"
        )
    print(
        f"  same file: {len(same_rows)} trace records + {repeats} counted repeats; distinct "
        f"files: {len(distinct)} trace records + {over} over the limit"
    )
    assert 1 <= len(same_rows) <= 5  # one per window the loop spans
    assert len(same_rows) + repeats == 10_000
    assert len(distinct) + over >= 1_000  # over also counts other events past the limit
    assert len(distinct) <= 1_000
    assert measured[True][1] < 1_500  # 11,000 opens never become 11,000 records


def test_workload_retrying_a_missing_file_does_not_flood_the_trace(tmp_path: Path) -> None:
    """A retry loop on a missing configuration file: 10,000 failures, a handful of records."""
    _size, *records = _run(tmp_path, "retry", MISSING, "10000")
    failed = [r for r in records if r["message"].startswith("open failed")]
    assert failed, "the failure itself must be recorded"
    assert len(failed) <= 5


def test_real_failed_open_is_recorded_with_its_error(tmp_path: Path) -> None:
    _size, *records = _run(tmp_path, "once", MISSING, "1")
    (failed,) = [r for r in records if r["message"].startswith("open failed")]
    assert failed["level"] == "WARNING"
    assert failed["source"] == "runtime"
    assert failed["fields"]["args"] == ["/nonexistent/sealog-probe.conf", "r"]
    assert failed["fields"]["error"] == "FileNotFoundError: [Errno 2] No such file or directory"
    # the attempt comes first, then how it ended
    at = records.index(failed)
    assert records[at - 1]["message"] == "open /nonexistent/sealog-probe.conf r"


def test_untraced_profile_records_no_trace_and_no_fingerprint(tmp_path: Path) -> None:
    _size, *records = _run(tmp_path, "quiet", MISSING, "3", trace=False)
    assert [r for r in records if r["logger"] in ("sealog.trace", "sealog.fingerprint")] == []
    assert any(r["message"] == "gave up" for r in records)


def test_traced_session_starts_with_the_fingerprint(tmp_path: Path) -> None:
    _size, *records = _run(tmp_path, "fp", MISSING, "0")
    fp = records[0]
    assert (fp["logger"], fp["source"], fp["message"]) == (
        "sealog.fingerprint",
        "runtime",
        "platform fingerprint",
    )
    assert set(fp["fields"]) >= {"python", "kernel", "cpu_flags", "devices", "attest", "rlimits"}
    assert fp["fields"]["attest"] == "none"


# -- the platform fingerprint, against a folder laid out like / ------------------------------

CPUINFO = """\
processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9654 96-Core Processor
flags\t\t: fpu vme de pse tsc msr pae hypervisor aes avx avx2 rdrand rdseed sme sev sev_es sev_snp
bugs\t\t: sysret_ss_attrs

processor\t: 1
flags\t\t: fpu hypervisor
"""


def _tree(root: Path, files: dict[str, str], folders: tuple[str, ...] = ()) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for rel in folders:
        (root / rel).mkdir(parents=True, exist_ok=True)
    return root


def test_fingerprint_of_an_sev_snp_guest(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "proc/cpuinfo": CPUINFO,
            "proc/meminfo": "MemTotal:       16384256 kB\nMemFree:  1 kB\n",
            "dev/sev-guest": "",
            "sys/fs/cgroup/memory.max": "1073741824\n",
        },
        ("sys/kernel/config/tsm/report",),
    )
    fp = platform_fingerprint(root, attest="tsm")
    assert fp["cpu_flags"] == ["hypervisor", "sev", "sev_es", "sev_snp", "sme", "aes", "avx",
                               "avx2", "rdrand", "rdseed"]  # fmt: skip
    assert fp["devices"]["dev/sev-guest"] is True
    assert fp["devices"]["sys/kernel/config/tsm/report"] is True
    assert fp["devices"]["dev/tdx_guest"] is False
    assert fp["devices"]["dev/sgx_enclave"] is False
    assert fp["cgroup_memory_max"] == "1073741824"
    assert fp["memory_total"] == "16384256 kB"
    assert fp["attest"] == "tsm"
    assert json.loads(json.dumps(fp)) == fp  # it travels as record fields


@pytest.mark.parametrize(
    ("flags", "device", "expected_flag"),
    [
        ("tdx_guest avx512f", "dev/tdx_guest", "tdx_guest"),
        ("hypervisor", "dev/sgx_enclave", "hypervisor"),
        ("sha_ni", "dev/nsm", "sha_ni"),
    ],
)
def test_fingerprint_tells_keep_kinds_apart(
    tmp_path: Path, flags: str, device: str, expected_flag: str
) -> None:
    root = _tree(tmp_path, {"proc/cpuinfo": f"flags\t: {flags}\n", device: ""})
    fp = platform_fingerprint(root)
    assert expected_flag in fp["cpu_flags"]
    assert [d for d, present in fp["devices"].items() if present] == [device]


def test_fingerprint_of_an_empty_tree_reports_absence_not_errors(tmp_path: Path) -> None:
    fp = platform_fingerprint(tmp_path)
    assert fp["cpu_flags"] == []
    assert set(fp["devices"]) == set(DEVICES)
    assert not any(fp["devices"].values())
    assert fp["memory_total"] is None
    assert fp["cgroup_memory_max"] is None
    assert fp["attest"] == "none"
    soft = fp["rlimits"]["nofile"][0]
    assert soft == "unlimited" or (isinstance(soft, int) and soft > 0)
    assert set(CPU_FLAGS) >= set(platform_fingerprint(Path("/"))["cpu_flags"])


def test_unlimited_cgroup_is_reported_as_max(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"sys/fs/cgroup/memory.max": "max\n"})
    assert platform_fingerprint(root)["cgroup_memory_max"] == "max"
    assert os.path.exists(root / "sys/fs/cgroup/memory.max")
