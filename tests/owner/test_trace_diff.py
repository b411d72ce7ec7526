"""The trace's part of the diff: which failing call one run has and the other not.

Records are built as the runtime seals them (both tracers' shapes); the real programs run in
``tests/cli/test_cli_syscall_trace.py``.
"""

from __future__ import annotations

from typing import Any

from sealog.owner._diff import diff_sessions, normalise_record
from sealog.owner._trace_diff import first_unmatched_failures, is_failing_call
from sealog.seal._records import Record

DEBUG, INFO, WARNING = 10, 20, 30


def syscall(event: str, *args: str, error: str | None = None, pid: int = 100) -> Record:
    fields: dict[str, Any] = {"tracer": "strace", "event": event, "args": list(args), "pid": pid}
    message = " ".join((event, *args))
    if error is not None:
        fields["error"] = error
        message += f" = {error}"
    level = WARNING if error else DEBUG
    return Record(0.0, level, "runtime", "sealog.trace", message, None, None, fields, 0)


def output(line: str) -> Record:
    return Record(0.0, INFO, "workload", "stdout", line, None, None, {}, 0)


def python_failed_open(path: str) -> Record:
    error = "FileNotFoundError: [Errno 2] No such file or directory"
    fields = {"tracer": "audit-hook", "event": "open", "args": [path, "r"], "error": error}
    return Record(0.0, WARNING, "runtime", "sealog.trace", f"open failed: {error}", None, None,
                  fields, 0)  # fmt: skip


def test_enclave_device_missing_on_one_platform_is_named() -> None:
    """Both runs fail on locale files; only the Keep fails to open the enclave device."""
    common = [
        syscall("openat", "/usr/lib/locale/C.UTF-8/LC_CTYPE", "O_RDONLY", error="ENOENT"),
        syscall("openat", "/etc/app.conf", "O_RDONLY"),
    ]
    vm = [*common, syscall("openat", "/dev/sgx_enclave", "O_RDWR", pid=7), output("ready")]
    keep = [
        *common,
        syscall("openat", "/dev/sgx_enclave", "O_RDWR", error="ENOENT", pid=9),
        syscall("exit", "1", error="exited with 1", pid=9),
    ]
    result = diff_sessions(vm, keep)
    assert result.failing_only_a is None
    assert result.failing_only_b is not None
    assert result.failing_only_b.index == 2
    assert result.failing_only_b.record.fields["args"] == ["/dev/sgx_enclave", "O_RDWR"]


def test_same_failure_under_other_pids_is_not_named() -> None:
    a = [syscall("connect", "{sa_family=AF_INET, sin_port=htons(80)}", error="ECONNREFUSED")]
    b = [syscall("connect", '{sa_family=AF_INET, sin_port=htons(80)}', error="ECONNREFUSED",
                 pid=4242)]  # fmt: skip
    assert first_unmatched_failures(a, b, normalise_record) == (None, None)
    assert diff_sessions(a, b).same


def test_python_and_system_call_failures_are_both_failing_calls() -> None:
    assert is_failing_call(python_failed_open("/etc/x"))
    assert is_failing_call(syscall("mprotect", "PROT_READ|PROT_EXEC", error="EACCES"))
    assert not is_failing_call(syscall("openat", "/etc/x", "O_RDONLY"))
    assert not is_failing_call(output("open failed"))
    a = [python_failed_open("/etc/a")]
    b = [python_failed_open("/etc/a"), python_failed_open("/etc/b")]
    assert first_unmatched_failures(a, b, normalise_record) == (None, 1)


def test_a_call_that_only_changed_place_against_the_output_is_not_a_difference() -> None:
    a = [syscall("openat", "/etc/x", "O_RDONLY"), output("done"), syscall("exit", "0")]
    b = [syscall("openat", "/etc/x", "O_RDONLY"), syscall("exit", "0"), output("done")]
    result = diff_sessions(a, b)
    assert result.same
    assert result.only_a == result.only_b == ()


def test_a_call_in_one_run_only_is_still_a_difference() -> None:
    a = [syscall("openat", "/etc/x", "O_RDONLY"), output("done")]
    b = [
        syscall("openat", "/etc/x", "O_RDONLY"),
        output("done"),
        syscall("openat", "/etc/y", "O_RDONLY"),
    ]
    result = diff_sessions(a, b)
    assert not result.same
    assert [x.record.fields["args"][0] for x in result.only_b] == ["/etc/y"]
    assert result.first_divergence is not None
    assert result.first_divergence.index_b == 2


def test_pipe_and_socket_inode_numbers_do_not_make_runs_differ() -> None:
    a = [syscall("ioctl", "/dev/tty", "TCGETS"), syscall("connect", "socket:[48211]")]
    b = [syscall("ioctl", "/dev/tty", "TCGETS"), syscall("connect", "socket:[99017]")]
    assert diff_sessions(a, b).same
