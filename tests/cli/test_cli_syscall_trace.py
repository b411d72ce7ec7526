"""A program that is not Python works in one environment and fails in another: the owner asks
"my code or the platform?" and ``sealog diff`` must name the failing system call first.

Black-box: real programs (``cat``, ``bash``, ``ls``, ``sort``, ``wc``) run under ``sealog run
--profile testing`` (trace on), so the runtime traces them with the real strace; the sessions
are sealed to a real key and read back with ``sealog read`` and ``sealog diff``. Two
"environments" are the same command with the file there and not there.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from clihelp import SEALOG, sealog

from sealog.keep._syscalls import probe_strace

_OPTIONS, _STATUS = probe_strace()
pytestmark = pytest.mark.skipif(
    _OPTIONS is None, reason=f"system-call tracing needs strace with ptrace ({_STATUS})"
)
CAT = shutil.which("cat") or "/bin/cat"
NO_PTRACE = Path(__file__).with_name("no_ptrace.py")


def run(pub: Path, store: Path, *cmd: str, **kw: Any) -> int:
    done = sealog("run", "--owner", pub, "--profile", "testing", "--store", store, "--", *cmd, **kw)
    return done.returncode


def records(store: Path, key: Path) -> list[dict[str, Any]]:
    done = sealog("read", store, "--key", key, "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@dataclass(frozen=True)
class Runs:
    key: Path
    pub: Path
    config: Path
    works: Path  # store: the file was there
    works_again: Path  # store: the same, a second run in the same environment
    fails: Path  # store: the file was missing


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    tmp = tmp_path_factory.mktemp("sysdiff")
    assert sealog("keygen", tmp / "owner").returncode == 0
    pub = tmp / "owner.pub"
    config = tmp / "etc" / "app.conf"
    config.parent.mkdir()
    config.write_text("mode = fast\n")
    assert run(pub, tmp / "works", CAT, str(config)) == 0
    assert run(pub, tmp / "works-again", CAT, str(config)) == 0
    config.unlink()  # the other environment's image was built without it
    assert run(pub, tmp / "fails", CAT, str(config)) == 1
    return Runs(tmp / "owner.key", pub, config, tmp / "works", tmp / "works-again", tmp / "fails")


def test_missing_file_diff_names_the_failing_openat_first(runs: Runs) -> None:
    done = sealog("diff", runs.works, runs.fails, "--key", runs.key, "--json")
    assert done.returncode == 1, done.stderr
    result, *rest = (json.loads(line) for line in done.stdout.splitlines())
    assert result["first_failing_call"]["a"] is None
    failing = result["first_failing_call"]["b"]
    assert failing["fields"]["tracer"] == "strace"
    assert failing["fields"]["event"] == "openat"
    assert failing["fields"]["args"][0] == str(runs.config)
    assert failing["fields"]["error"] == "ENOENT"
    assert failing["level"] == "WARNING"
    # The record-by-record alignment parts there at the latest (the output line that A has and
    # B lacks may come earlier: the output and the trace are read by different threads).
    assert result["first_divergence"]["index_b"] <= failing["index"]
    assert failing["index"] in {x["index"] for x in rest if x["only"] == "b"}


def test_missing_file_human_output_names_the_openat_before_anything_else(runs: Runs) -> None:
    done = sealog("diff", runs.works, runs.fails, "--key", runs.key)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("sessions diverge at record ")
    at = lines.index("first failing call only in B:")
    assert at == 3  # right after the names of A and B
    assert f"openat {runs.config} O_RDONLY = ENOENT (No such file or directory)" in lines[at + 1]
    assert "first failing call only in A:" not in lines


def test_same_command_same_environment_matches(runs: Runs) -> None:
    """Other pids, and trace records that changed place against the output: still a match."""
    done = sealog("diff", runs.works, runs.works_again, "--key", runs.key)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == "sessions match"


def test_trace_records_read_like_the_python_trace(runs: Runs) -> None:
    recs = records(runs.fails, runs.key)
    trace = [r for r in recs if r["logger"] == "sealog.trace"]
    assert trace
    assert {r["source"] for r in trace} == {"runtime"}
    assert {r["fields"]["tracer"] for r in trace} == {"strace"}
    (fingerprint,) = [r for r in recs if r["logger"] == "sealog.fingerprint"]
    assert fingerprint["fields"]["syscall_trace"] == _STATUS
    # the workload's own output is still sealed beside the trace
    assert any(r["logger"] == "stderr" and "No such file" in r["message"] for r in recs)


def test_forking_shell_pipeline_children_are_in_the_sealed_trace(
    runs: Runs, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "one").write_text("1\n")
    line = f"ls {tmp_path / 'data'} | sort | wc -l"
    assert run(runs.pub, tmp_path / "st", "bash", "-c", line) == 0
    recs = records(tmp_path / "st", runs.key)
    execs = [r["fields"] for r in recs if r["fields"].get("event") == "execve"]
    by_program = {Path(f["args"][0]).name: f["pid"] for f in execs}
    assert {"bash", "ls", "sort", "wc"} <= by_program.keys()
    assert len(set(by_program.values())) == len(by_program)  # each in its own process
    assert any(r["fields"].get("args", [None])[0] == str(tmp_path / "data") for r in recs)
    assert any(r["logger"] == "stdout" and r["message"] == "1" for r in recs)


def test_no_tracer_is_said_in_a_record_and_the_fingerprint_and_the_workload_runs(
    runs: Runs, tmp_path: Path
) -> None:
    """A Keep without strace: the owner learns it, the workload is not stopped by it."""
    empty = tmp_path / "bin"
    empty.mkdir()
    config = tmp_path / "app.conf"
    config.write_text("mode = fast\n")
    store = tmp_path / "untraced"
    assert run(runs.pub, store, CAT, str(config), env={"PATH": str(empty)}) == 0
    recs = records(store, runs.key)
    (note,) = [r for r in recs if r["fields"].get("event") == "trace.unavailable"]
    assert note["level"] == "WARNING"
    assert note["fields"]["reason"] == "unavailable: strace not found on PATH"
    (fingerprint,) = [r for r in recs if r["logger"] == "sealog.fingerprint"]
    assert fingerprint["fields"]["syscall_trace"] == "unavailable: strace not found on PATH"
    assert any(r["logger"] == "stdout" and r["message"] == "mode = fast" for r in recs)
    done = sealog("diff", runs.works, store, "--key", runs.key, "--json")
    assert done.returncode == 1
    changes = json.loads(done.stdout.splitlines()[0])["fingerprint_changes"]
    assert changes["syscall_trace"] == [_STATUS, "unavailable: strace not found on PATH"]


def test_host_sees_no_traced_call_under_testing(runs: Runs, tmp_path: Path) -> None:
    """The failing calls are sealed to the owner; the host sees the lifecycle and a code."""
    missing = tmp_path / "secret-name.conf"
    done = sealog(
        "run", "--owner", runs.pub, "--profile", "testing", "--store", tmp_path / "st", "--",
        CAT, missing,
    )  # fmt: skip
    assert done.returncode == 1
    events = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert [e["event"] for e in events] == ["keep.starting", "keep.ready", "keep.failed"]
    assert "secret-name" not in done.stdout + done.stderr
    assert any(missing.name in r["message"] for r in records(tmp_path / "st", runs.key))


@pytest.mark.skipif(
    sys.platform != "linux" or platform.machine() != "x86_64",
    reason="the ptrace-denying seccomp filter is written for x86_64 Linux",
)
def test_ptrace_denied_by_the_sandbox_is_said_and_the_workload_runs(
    runs: Runs, tmp_path: Path
) -> None:
    """A sandbox whose seccomp policy refuses ptrace (as container runtimes may)."""
    config = tmp_path / "app.conf"
    config.write_text("mode = fast\n")
    store = tmp_path / "sandboxed"
    done = subprocess.run(
        [sys.executable, str(NO_PTRACE), *SEALOG, "run", "--owner", str(runs.pub),
         "--profile", "testing", "--store", str(store), "--", CAT, str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    recs = records(store, runs.key)
    (note,) = [r for r in recs if r["fields"].get("event") == "trace.unavailable"]
    assert note["fields"]["reason"].startswith("unavailable: ptrace not permitted")
    (fingerprint,) = [r for r in recs if r["logger"] == "sealog.fingerprint"]
    assert fingerprint["fields"]["syscall_trace"] == note["fields"]["reason"]
    assert any(r["logger"] == "stdout" and r["message"] == "mode = fast" for r in recs)
    assert not any(r["fields"].get("tracer") == "strace" and "event" in r["fields"]
                   and r["fields"]["event"] == "openat" for r in recs)  # fmt: skip
