"""The system-call trace of any program (DESIGN.md section 7).

Real programs from the distribution (bash, coreutils) run under the real strace: a forking
pipeline must be covered child by child, a loop of identical calls must collapse into a handful
of records with exact counts, a failing call must never be lost to the rate limit, and the
environment of an ``execve`` must never be recorded. Parsing is also checked on strace's own
line shapes (a call split by another process, signals, exits).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.keep._syscalls import (
    Call,
    StraceParser,
    SyscallCollapser,
    SyscallTrace,
    probe_strace,
    start_syscall_trace,
)
from sealog.owner._diff import diff_sessions
from sealog.seal import Row
from sealog.seal._records import Record

_OPTIONS, _STATUS = probe_strace()
needs_strace = pytest.mark.skipif(
    _OPTIONS is None, reason=f"system-call tracing needs strace with ptrace ({_STATUS})"
)
_SUMMARY = re.compile(r"trace summary: (\d+) repeats collapsed, (\d+) events over the rate limit")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def traced(
    cmd: list[str], env: dict[str, str] | None = None
) -> tuple[int, list[Row], SyscallTrace]:
    """Run ``cmd`` under the trace as the runtime does; its exit status and the rows."""
    rows: list[Row] = []
    trace = start_syscall_trace(cmd, rows.append)
    done = subprocess.run(trace.command(cmd), capture_output=True, check=False, timeout=60, env=env)
    trace.finish()
    return done.returncode, rows, trace


def fields_of(row: Row) -> dict[str, Any]:
    """A trace row's fields (the trace gives every row some)."""
    assert row.fields is not None, row
    return row.fields


def calls(rows: list[Row]) -> list[Row]:
    return [r for r in rows if not str(r[4]).startswith("trace summary:")]


def times_seen(rows: list[Row], message: str) -> int:
    """How often ``message`` happened: its records plus its counts in every summary."""
    seen = sum(1 for r in calls(rows) if r[4] == message)
    for r in rows:
        if str(r[4]).startswith("trace summary:"):
            seen += fields_of(r)["repeats"].get(message, 0)
    return seen


# -- strace's lines ------------------------------------------------------------------------


def test_failed_open_keeps_path_flags_and_errno_name() -> None:
    parsed = StraceParser().parse(
        '4121  openat(AT_FDCWD</srv>, "/dev/sgx_enclave", O_RDWR|O_CLOEXEC) = -1 ENOENT '
        "(No such file or directory)\n"
    )
    assert parsed == (
        4121,
        Call(
            "openat",
            ("/dev/sgx_enclave", "O_RDWR|O_CLOEXEC"),
            "ENOENT",
            "No such file or directory",
        ),
    )
    assert parsed[1].message == (
        "openat /dev/sgx_enclave O_RDWR|O_CLOEXEC = ENOENT (No such file or directory)"
    )


def test_execve_never_records_the_environment() -> None:
    (_, call) = StraceParser().parse(
        '77 execve("/usr/bin/env", ["env", "A=1"], 0x7ffd3c0 /* 35 vars */) = 0'
    ) or (0, None)
    assert call == Call("execve", ("/usr/bin/env", '["env", "A=1"]'))
    assert "vars" not in call.message


def test_call_split_by_another_process_is_joined() -> None:
    parser = StraceParser()
    assert (
        parser.parse(
            "10 connect(3<socket:[99]>, {sa_family=AF_INET, sin_port=htons(5432), "
            'sin_addr=inet_addr("10.0.0.7")}, 16 <unfinished ...>'
        )
        is None
    )
    assert parser.parse('11 openat(AT_FDCWD</>, "/etc/hosts", O_RDONLY) = 3</etc/hosts>') == (
        11,
        Call("openat", ("/etc/hosts", "O_RDONLY")),
    )
    parsed = parser.parse("10 <... connect resumed>) = -1 ECONNREFUSED (Connection refused)")
    assert parsed is not None
    pid, call = parsed
    assert pid == 10
    assert call.event == "connect"
    assert call.error == "ECONNREFUSED"
    assert 'inet_addr("10.0.0.7")' in call.args[0]


@pytest.mark.parametrize(
    "line",
    [
        "5 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f00",
        "5 mprotect(0x7f0000, 16384, PROT_READ) = 0",
        '5 newfstatat(3</etc/x>, "", {st_mode=S_IFREG|0644, st_size=1, ...}, AT_EMPTY_PATH) = 0',
        "5 ioctl(1<pipe:[5512]>, TCGETS, 0x7ffc) = -1 ENOTTY (Inappropriate ioctl for device)",
    ],
)
def test_routine_calls_that_say_nothing_about_the_environment_are_not_recorded(line: str) -> None:
    assert StraceParser().parse(line) is None


def test_failed_mprotect_exec_and_device_ioctl_are_recorded() -> None:
    parser = StraceParser()
    mprotect = parser.parse(
        "5 mprotect(0x7f0000, 4096, PROT_READ|PROT_EXEC) = -1 EACCES (Permission denied)"
    )
    assert mprotect == (
        5,
        Call("mprotect", ("PROT_READ|PROT_EXEC",), "EACCES", "Permission denied"),
    )
    ioctl = parser.parse("5 ioctl(4</dev/sev-guest>, SNP_GET_REPORT, 0x7ffc) = 0")
    assert ioctl == (5, Call("ioctl", ("/dev/sev-guest", "SNP_GET_REPORT")))


def test_fatal_signal_and_failed_exit_are_failures() -> None:
    parser = StraceParser()
    sig = parser.parse("9 --- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---")
    assert sig == (9, Call("signal", ("SIGSEGV", "SEGV_MAPERR"), "SIGSEGV"))
    chld = parser.parse("9 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=10} ---")
    assert chld == (9, Call("signal", ("SIGCHLD", "CLD_EXITED")))
    assert parser.parse("9 +++ exited with 0 +++") == (9, Call("exit", ("0",)))
    assert parser.parse("9 +++ exited with 3 +++") == (9, Call("exit", ("3",), "exited with 3"))
    killed = parser.parse("9 +++ killed by SIGKILL +++")
    assert killed == (9, Call("exit", ("SIGKILL",), "killed by SIGKILL"))
    assert killed[1].message == "exit: killed by SIGKILL"
    assert sig is not None
    assert sig[1].message == "signal SIGSEGV SEGV_MAPERR"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=80),
            st.sampled_from(
                [
                    '1 openat(AT_FDCWD</>, "/x", O_RDONLY <unfinished ...>',
                    "1 <... openat resumed>) = -1 ENOENT (No such file or directory)",
                    "2 <... stat resumed>) = 0",
                    "3 ioctl(4</dev/x>, TCGETS) = 0",
                    "3 --- SIGSEGV ---",
                    "3 +++ killed by +++",
                    '4 execve("/bin/x", ["x"',
                    "5 mmap() = ",
                    ') = ( = ")',
                ]
            ),
        ),
        max_size=20,
    )
)
def test_no_line_the_workload_can_cause_breaks_the_parser(lines: list[str]) -> None:
    """Paths and argv come from the workload: whatever they hold, the reader must go on."""
    parser = StraceParser()
    for line in lines:
        parsed = parser.parse(line)
        assert parsed is None or isinstance(parsed[1], Call)


# -- collapse and rate limit ---------------------------------------------------------------


def test_distinct_calls_over_the_limit_are_counted_but_failures_are_always_kept() -> None:
    rows: list[Row] = []
    clock = Clock()
    collapser = SyscallCollapser(rows.append, clock=clock)
    for i in range(500):
        collapser.feed(1, Call("openat", (f"/data/{i}", "O_RDONLY")))
    for i in range(300):
        collapser.feed(1, Call("openat", (f"/missing/{i}", "O_RDONLY"), "ENOENT"))
    collapser.close()
    failed = [r for r in rows if fields_of(r).get("error") == "ENOENT"]
    assert len(failed) == 300  # every distinct failing call has its own record
    assert {r[1] for r in failed} == {30}
    (summary,) = [r for r in rows if str(r[4]).startswith("trace summary:")]
    assert fields_of(summary)["over_limit"] == 300  # 500 distinct successes, 200 recorded
    assert collapser.calls == 800


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.booleans(), st.floats(0, 0.7)), min_size=1, max_size=400
    )
)
def test_every_call_is_a_record_or_a_count(events: list[tuple[int, bool, float]]) -> None:
    """Whatever the mix and timing, nothing is dropped silently."""
    rows: list[Row] = []
    clock = Clock()
    collapser = SyscallCollapser(rows.append, clock=clock)
    for n, failed, step in events:
        clock.now += step
        collapser.feed(1, Call("stat", (f"/p/{n}",), "ENOENT" if failed else None))
    collapser.close()
    recorded = len(calls(rows))
    repeats = over = 0
    for r in rows:
        m = _SUMMARY.fullmatch(str(r[4]))
        if m:
            repeats += int(m.group(1))
            over += int(m.group(2))
            assert fields_of(r)["repeats_total"] == int(m.group(1))
    assert recorded + repeats + over == len(events)


# -- real programs under the real strace ---------------------------------------------------


@needs_strace
def test_100000_identical_stats_collapse_into_a_handful_of_records_with_exact_counts(
    tmp_path: Path,
) -> None:
    """A shell loop of ``test -e`` on a missing file: one ``newfstatat`` each time.

    100,000 rather than 1,000,000: each traced call stops the loop twice (about 17 µs a call
    here), so a million would take some 20 s; the counting is the same.
    """
    n = 100_000
    missing = tmp_path / "not-there"
    loop = f"for ((i=0;i<{n};i++)); do test -e {missing}; done; exit 0"
    status, rows, trace = traced(["bash", "-c", loop])
    assert status == 0
    assert trace.complete
    message = next(r[4] for r in calls(rows) if str(missing) in r[4])
    assert message.endswith("= ENOENT (No such file or directory)")
    assert times_seen(rows, message) == n
    assert len([r for r in rows if r[4] == message]) <= 30  # one per one-second window at most
    assert len(rows) < 200


@needs_strace
@pytest.mark.skipif(Path("/dev/sgx_enclave").exists(), reason="this machine has an SGX device")
def test_device_missing_in_one_environment_is_the_first_failing_call() -> None:
    """The same script, told by an environment variable which device to open: a VM where the
    device path is there, a Keep where it is not. The diff names the failing ``openat``."""
    script = ["bash", "-c", 'exec 3<"$KEEP_DEVICE" && echo opened']
    sessions = []
    for device in ("/dev/null", "/dev/sgx_enclave"):
        _, rows, _ = traced(script, env={**os.environ, "KEEP_DEVICE": device})
        sessions.append([Record.from_row(row, i) for i, row in enumerate(rows)])
    result = diff_sessions(*sessions)
    assert result.failing_only_a is None
    assert result.failing_only_b is not None
    failing = result.failing_only_b.record
    assert failing.message.startswith("openat /dev/sgx_enclave O_RDONLY = ENOENT")
    assert failing.fields["error"] == "ENOENT"


@needs_strace
def test_forking_pipeline_children_are_traced(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x\n")
    status, rows, _ = traced(["bash", "-c", f"ls {tmp_path} | sort | wc -l"])
    assert status == 0
    execs = {
        fields_of(r)["args"][0]: fields_of(r)["pid"]
        for r in calls(rows)
        if fields_of(r)["event"] == "execve"
    }
    programs = {Path(p).name for p in execs}
    assert {"bash", "ls", "sort", "wc"} <= programs
    assert len({execs[p] for p in execs}) == len(execs)  # one process each
    assert any(
        fields_of(r)["event"] == "openat" and fields_of(r)["args"][0] == str(tmp_path) for r in rows
    )
    # every process of the pipeline ended: one record, the other exits counted as its repeats
    assert times_seen(rows, "exit: exited with 0") == 4
    assert {fields_of(r)["tracer"] for r in rows} == {"strace"}
    assert {(r[2], r[3]) for r in rows} == {("runtime", "sealog.trace")}


@needs_strace
def test_traced_workload_keeps_its_own_exit_status_and_death_signal(tmp_path: Path) -> None:
    status, rows, _ = traced(["bash", "-c", "exit 3"])
    assert status == 3
    status, rows, _ = traced(["bash", "-c", "kill -SEGV $$"])
    assert status == -11  # the process the runtime started is the workload, not strace
    assert any(fields_of(r).get("error") == "killed by SIGSEGV" for r in rows)


@needs_strace
def test_a_failed_connect_is_recorded_with_its_address() -> None:
    # Port 9 on 127.0.0.1: nothing listens (discard is not run on test machines).
    status, rows, _ = traced(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9"])
    assert status != 0
    # The resolver may connect elsewhere first (an nscd or resolved socket, on some machines):
    # the connect this test is about is the one to 127.0.0.1.
    refused = [
        r
        for r in calls(rows)
        if fields_of(r)["event"] == "connect"
        and 'inet_addr("127.0.0.1")' in fields_of(r)["args"][0]
    ]
    assert refused
    assert {fields_of(r)["error"] for r in refused} == {"ECONNREFUSED"}
    assert {r[1] for r in refused} == {30}


def test_missing_tracer_is_said_in_a_record_and_the_workload_runs_untraced() -> None:
    rows: list[Row] = []
    trace = start_syscall_trace(["true"], rows.append, strace="/nonexistent/strace")
    assert not trace.active
    assert trace.status.startswith("unavailable:")
    assert trace.command(["true"]) == ["true"]
    (row,) = rows
    assert row[1] == 30
    assert fields_of(row)["event"] == "trace.unavailable"
    assert fields_of(row)["reason"] == trace.status
    trace.finish()


def test_strace_not_on_path_is_named_as_such(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert probe_strace() == (None, "unavailable: strace not found on PATH")


def test_workload_that_cannot_start_is_not_wrapped() -> None:
    """Its own start error (exit 127) must stay what it is, with no strace in between."""
    rows: list[Row] = []
    trace = start_syscall_trace(["/nonexistent/program"], rows.append)
    assert trace.command(["/nonexistent/program"]) == ["/nonexistent/program"]
    assert rows == []
    trace.finish()


@needs_strace
def test_strace_probe_names_its_version() -> None:
    assert _STATUS.startswith("strace ")
    assert shutil.which("strace") is not None
