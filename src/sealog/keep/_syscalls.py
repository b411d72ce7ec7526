"""The system-call trace: what any program asks of its environment (DESIGN.md section 7).

A Python workload is traced from inside by audit hooks (``_trace.py``). Any other command is
traced from outside: under a profile with ``trace = true`` the runtime starts it under
``strace -f``, which follows every child, with seccomp-bpf filtering so that only the calls
listed in :data:`TRACED_CALLS` stop the workload. strace writes to a FIFO in a private folder
that only the runtime reads (strace opens it close-on-exec, so the workload never holds it),
and each line becomes a record of the same shape as the Python trace: source ``runtime``,
logger ``sealog.trace``, fields ``{"tracer": "strace", "event", "args", "pid"}`` plus
``"error"`` (the errno name) for a call that failed.

Arguments are summarised: paths are kept (strace never shortens a path), buffers and structures
the kernel filled in are dropped, the environment of an ``execve`` is never recorded. Calls that
say nothing about the environment when they succeed (``mmap``, ``mprotect``, a ``stat`` of an
open descriptor, an ``ioctl`` on anything but a device file) are kept only when they fail.

Volume is controlled like the Python trace: in windows of one second, a call already recorded
is only counted, distinct calls over the rate limit are counted, and the counts are sealed in a
``trace summary`` record when the window closes. A failing call is never held back by the rate
limit (its repeats are still counted): it is what the owner is looking for.

When strace is missing or may not trace (no ptrace in the sandbox), the workload runs
untraced, a sealed record says why, and the platform fingerprint carries the same reason.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sealog.seal._row import Row, make_row
from sealog.seal._vocabulary import DEBUG, TRACE_LOGGER, WARNING

__all__ = [
    "TRACED_CALLS",
    "Call",
    "StraceParser",
    "SyscallCollapser",
    "SyscallTrace",
    "probe_strace",
    "start_syscall_trace",
]

#: Calls that explain environment failures. A ``?`` lets strace skip a name this architecture
#: does not have (``open``, ``stat`` and friends do not exist on arm64).
TRACED_CALLS = (
    "?open",
    "openat",
    "?openat2",
    "?creat",
    "?stat",
    "?lstat",
    "newfstatat",
    "?statx",
    "?access",
    "faccessat",
    "?faccessat2",
    "execve",
    "?execveat",
    "chdir",
    "?mkdir",
    "mkdirat",
    "?unlink",
    "unlinkat",
    "?rename",
    "?renameat",
    "?renameat2",
    "socket",
    "connect",
    "bind",
    "mmap",
    "mprotect",
    "ioctl",
)
TRACER = "strace"
_WINDOW = 1.0
_MAX_PER_WINDOW = 200
_MAX_ARG = 160
_STRING_SIZE = 64
#: Signals that end or break a process: recorded as failures (the rest, SIGCHLD and the like,
#: as plain events).
_FATAL_SIGNALS = frozenset(
    {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT", "SIGSYS", "SIGKILL", "SIGXCPU"}
)
#: Calls kept only when they fail: their successes are the loader's and allocator's routine.
_FAILURES_ONLY = frozenset({"mmap", "mprotect"})
_PID = re.compile(r"^(\d+)\s+")
_RESULT = re.compile(r"^(?P<ret>\S+)(?:\s+(?P<errno>E[A-Z0-9]+)(?:\s+\((?P<text>.*)\))?)?")
_FD_PATH = re.compile(r"^(?:-?\d+|AT_FDCWD)<(.*)>$")
_CACHE = 4096
_PIPE_SIZE = 1 << 20
_CHUNK = 1 << 16
_GATHER = 0.005
#: How many leading arguments each call's summary reads.
_NEEDED = {
    "open": 2,
    "openat": 3,
    "openat2": 3,
    "creat": 1,
    "stat": 1,
    "lstat": 1,
    "newfstatat": 2,
    "statx": 2,
    "access": 1,
    "faccessat": 3,
    "faccessat2": 3,
    "execve": 2,
    "execveat": 3,
    "chdir": 1,
    "mkdir": 1,
    "mkdirat": 2,
    "unlink": 1,
    "unlinkat": 2,
    "rename": 2,
    "socket": 3,
    "connect": 2,
    "bind": 2,
    "mmap": 5,
    "mprotect": 3,
    "ioctl": 2,
}


@dataclass(frozen=True)
class Call:
    """One traced call, signal or exit, summarised.

    Attributes:
        event: the call's name (``openat``), or ``signal`` or ``exit``.
        args: its arguments as text, paths kept, buffers dropped.
        error: the errno name (``ENOENT``), a fatal signal's name, or ``exited with N`` for a
            process that failed; None when it succeeded.
        detail: the error's description (``No such file or directory``), or None.
    """

    event: str
    args: tuple[str, ...]
    error: str | None = None
    detail: str | None = None

    @property
    def message(self) -> str:
        """The record's message: the call and its arguments, and how it failed."""
        if self.event == "exit":
            return f"exit: {self.error or 'exited with 0'}"
        text = " ".join((self.event, *self.args))
        if self.error is None or self.event == "signal":
            return text
        return f"{text} = {self.error}" + (f" ({self.detail})" if self.detail else "")


def _split_args(text: str, limit: int) -> list[str]:
    """The first ``limit`` top-level arguments of ``text`` (strace's ``a, "b, c", {d, e}``).

    Stopping early matters: what follows the arguments worth keeping is usually a structure the
    kernel filled in, the longest part of the line.
    """
    out: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            # jump to the closing quote, past escaped ones
            i = text.find('"', i + 1)
            while i > 0 and text[i - 1] == "\\" and not _even_backslashes(text, i - 1):
                i = text.find('"', i + 1)
            if i < 0:
                break
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(text[start:i].strip())
            if len(out) >= limit:
                return out
            start = i + 1
        i += 1
    last = text[start:].strip()
    if last or out:
        out.append(last)
    return out


def _even_backslashes(text: str, end: int) -> bool:
    """Whether the run of backslashes ending at ``end`` has an even length (escapes itself)."""
    start = end
    while start >= 0 and text[start] == "\\":
        start -= 1
    return (end - start) % 2 == 0


def _bounded(text: str) -> str:
    return text if len(text) <= _MAX_ARG else text[: _MAX_ARG - 3] + "..."


def _path(arg: str) -> str:
    """A path argument as text: ``"/etc/x"`` and ``3</etc/x>`` both give ``/etc/x``."""
    if arg.startswith('"'):
        end = arg.rfind('"')
        body = arg[1:end] if end > 0 else arg[1:]
        return _bounded(body + ("..." if arg.endswith("...") else ""))
    m = _FD_PATH.match(arg)
    return _bounded(m.group(1)) if m else _bounded(arg)


def _summarise(name: str, args: list[str], failed: bool) -> tuple[str, ...] | None:
    """The arguments worth keeping, or None when the call is not worth a record."""
    n = len(args)
    if name in _FAILURES_ONLY:
        if not failed:
            return None
        prot = args[2] if n > 2 else ""
        if name == "mprotect":
            return (prot,)
        fd = _path(args[4]) if n > 4 and "<" in args[4] else None
        return (prot, args[3] if n > 3 else "", *((fd,) if fd else ()))
    if name in ("newfstatat", "statx") and n > 1 and args[1] == '""':
        # A stat of an open descriptor: it says nothing new unless it fails.
        return (_path(args[0]),) if failed else None
    if name == "ioctl":
        fd = _path(args[0]) if args else ""
        if not fd.startswith("/dev/"):
            return None
        return (fd, args[1] if n > 1 else "")
    if name in ("openat", "openat2", "faccessat", "faccessat2") and n > 2:
        return (_path(args[1]), args[2])
    if name == "open" and n > 1:
        return (_path(args[0]), args[1])
    if name in ("newfstatat", "statx", "mkdirat", "unlinkat") and n > 1:
        return (_path(args[1]),)
    if name == "execve" and n > 1:
        return (_path(args[0]), _bounded(args[1]))  # never the environment
    if name == "execveat" and n > 2:
        return (_path(args[1]), _bounded(args[2]))
    if name in ("connect", "bind") and n > 1:
        return (_bounded(args[1]),)
    if name == "socket":
        return tuple(args)
    # The rest (stat, access, chdir, mkdir, unlink, rename...): the paths they name.
    return tuple(_path(a) for a in args if a.startswith('"') or _FD_PATH.match(a))


def _routine(name: str, body: str, open_at: int) -> bool:
    """A successful call that is not worth a record, told without splitting its arguments."""
    if name in _FAILURES_ONLY:
        return True
    if name in ("newfstatat", "statx"):
        comma = body.find(", ", open_at)
        return body.startswith('""', comma + 2)
    if name == "ioctl":
        comma = body.find(",", open_at)
        return "</dev/" not in body[open_at:comma]
    return False


class StraceParser:
    """Turns strace's output lines into :class:`Call` values.

    Calls of several processes interleave: a call that blocks is printed as ``<unfinished
    ...>`` and completed later by a ``<... name resumed>`` line of the same process; the parser
    joins the two. Identical lines (a loop) are parsed once and then looked up.
    """

    def __init__(self) -> None:
        self._pending: dict[int, str] = {}
        self._cache: dict[str, Call | None] = {}

    def parse(self, line: str) -> tuple[int, Call] | None:
        """The process id and the call on ``line``, or None for a line not worth a record."""
        line = line.rstrip("\n")
        m = _PID.match(line)
        pid = int(m.group(1)) if m else 0
        body = line[m.end() :] if m else line
        if body.endswith("<unfinished ...>"):
            self._pending[pid] = body[: -len("<unfinished ...>")].rstrip()
            return None
        if body.startswith("<... "):
            head = self._pending.pop(pid, None)
            _, _, rest = body.partition(" resumed>")
            if head is None:
                return None
            body = head + rest if head.endswith(("(", " ")) else head + " " + rest
        call = self._cache.get(body, _MISSING)
        if call is _MISSING:
            call = _parse_body(body)
            if len(self._cache) >= _CACHE:
                self._cache.clear()
            self._cache[body] = call
        return None if call is None else (pid, call)


_MISSING: Any = object()


def _parse_body(body: str) -> Call | None:
    if body.startswith("+++ "):
        what = body.strip("+ ")
        if what.startswith("exited with "):
            code = what.removeprefix("exited with ")
            return Call("exit", (code,), None if code == "0" else what)
        if what.startswith("killed by "):
            sig = what.removeprefix("killed by ").split()[0]
            return Call("exit", (sig,), f"killed by {sig}")
        return None
    if body.startswith("--- "):
        inner = body.strip("- ")
        sig, _, info = inner.partition(" ")
        si_code = re.search(r"si_code=(\w+)", info)
        kept = (sig, si_code.group(1)) if si_code else (sig,)
        return Call("signal", kept, sig if sig in _FATAL_SIGNALS else None)
    open_at = body.find("(")
    equals = body.rfind(" = ")
    # strace pads the result to a column: "<... execve resumed>)             = 0"
    close_at = len(body[:equals].rstrip()) - 1
    if open_at <= 0 or equals < 0 or close_at < open_at or body[close_at] != ")":
        return None
    name = body[:open_at]
    if not name.isidentifier():
        return None
    result = _RESULT.match(body[equals + 3 :].strip())
    errno = result.group("errno") if result else None
    failed = errno is not None
    if not failed and _routine(name, body, open_at):
        return None
    args = _summarise(name, _split_args(body[open_at + 1 : close_at], _NEEDED.get(name, 4)), failed)
    if args is None:
        return None
    return Call(name, args, errno, result.group("text") if result and failed else None)


class SyscallCollapser:
    """Turns calls into rows, collapsing repeats and limiting the rate (as the Python trace).

    Args:
        submit: where rows go (the sealed session).
        clock: monotonic seconds (injected in tests).
    """

    def __init__(
        self, submit: Callable[[Row], None], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._submit = submit
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[Call, int] = {}
        self._window_start = clock()
        self._emitted = 0
        self._over = 0
        self._closed = False
        self.calls = 0
        self.rows = 0

    def feed(self, pid: int, call: Call) -> None:
        """Count ``call`` made by process ``pid``; seal it when it is new in this window."""
        with self._lock:
            if self._closed:
                return
            self.calls += 1
            now = self._clock()
            if now - self._window_start >= _WINDOW:
                self._close_window(now)
            count = self._seen.get(call)
            if count is not None:
                self._seen[call] = count + 1
                return
            if call.error is None and self._emitted >= _MAX_PER_WINDOW:
                self._over += 1
                return
            self._seen[call] = 1
            self._emitted += 1
            fields: dict[str, Any] = {
                "tracer": TRACER,
                "event": call.event,
                "args": list(call.args),
                "pid": pid,
            }
            if call.error is not None:
                fields["error"] = call.error
            self._row(WARNING if call.error else DEBUG, call.message, fields)

    def note(self, level: int, message: str, fields: dict[str, Any]) -> None:
        """Seal a row about the trace itself (it bypasses collapse and the rate limit)."""
        self._row(level, message, fields)

    def _row(self, level: int, message: str, fields: dict[str, Any]) -> None:
        self.rows += 1
        self._submit(
            make_row(time.time(), level, "runtime", TRACE_LOGGER, message, None, None, fields)
        )

    def _close_window(self, now: float) -> None:
        repeats = {c.message: n - 1 for c, n in self._seen.items() if n > 1}
        if repeats or self._over:
            total = sum(repeats.values())
            self._row(
                DEBUG,
                f"trace summary: {total} repeats collapsed, "
                f"{self._over} events over the rate limit",
                {
                    "tracer": TRACER,
                    # Every repeated call with its count, not only the most repeated: each
                    # of them was a record in this window, so this at most doubles the window.
                    "repeats": dict(sorted(repeats.items(), key=lambda kv: -kv[1])),
                    "repeats_total": total,
                    "over_limit": self._over,
                },
            )
        self._seen.clear()
        self._emitted = 0
        self._over = 0
        self._window_start = now

    def close(self) -> None:
        """Seal the counts of the current window; later calls are ignored."""
        with self._lock:
            if not self._closed:
                self._close_window(self._clock())
                self._closed = True


def probe_strace(strace: str | None = None) -> tuple[list[str] | None, str]:
    """Whether this Keep can trace system calls, and how.

    Runs strace on itself (``strace ... -- strace -V``): that proves both that the binary works
    and that ptrace is permitted, and tells the version.

    Args:
        strace: the strace binary (default: ``strace`` on ``PATH``).

    Returns:
        The strace options to use (None when tracing is not possible) and a status for the
        fingerprint: ``strace 6.1 (seccomp-bpf)`` or ``unavailable: <reason>``.
    """
    exe = strace or shutil.which("strace")
    if exe is None:
        return None, "unavailable: strace not found on PATH"
    base = [exe, "-f", "-q", "-y", "-s", str(_STRING_SIZE)]
    reason = "unavailable: strace did not run"
    for filtered in (True, False):
        opts = [*base, "--seccomp-bpf"] if filtered else base
        try:
            done = subprocess.run(
                [*opts, "-e", "trace=none", "-o", os.devnull, "--", exe, "-V"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"unavailable: strace did not run ({type(exc).__name__})"
        err = done.stderr.strip().splitlines()
        if done.returncode == 0 and not err:
            version = done.stdout.split("version", 1)[-1].split()
            name = f"strace {version[0]}" if version else "strace"
            return opts, f"{name} (seccomp-bpf)" if filtered else name
        first = err[0] if err else f"exit status {done.returncode}"
        if "ptrace" in first or "Operation not permitted" in first:
            return None, f"unavailable: ptrace not permitted ({_bounded(first)})"
        reason = f"unavailable: {_bounded(first)}"
    return None, reason


class SyscallTrace:
    """The trace of one workload: its command line, the FIFO reader, and the collapser.

    Build it with :func:`start_syscall_trace`. The runtime starts :meth:`command` instead of
    the workload's own command line, then calls :meth:`finish` once the workload has exited.
    """

    def __init__(self, options: list[str] | None, status: str, collapser: SyscallCollapser):
        self.status = status
        self._options = options
        self._collapser = collapser
        self._folder: str | None = None
        self._read_fd = -1
        self._hold_fd = -1
        self._thread: threading.Thread | None = None
        self.complete = True
        if options is not None:
            self._folder = tempfile.mkdtemp(prefix="sealog-strace-")
            fifo = os.path.join(self._folder, "trace")
            os.mkfifo(fifo, 0o600)
            # Open the read end first (non-blocking, or it would wait for a writer), then hold
            # a write end ourselves: until the workload has exited, the reader must not take
            # "strace has not opened it yet" for the end of the trace.
            self._read_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            self._hold_fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.set_blocking(self._read_fd, True)
            # A larger buffer lets strace (and so the workload) run on while the reader waits
            # for the processor; on a loaded machine that is most of the trace's cost.
            with contextlib.suppress(OSError, AttributeError):
                fcntl.fcntl(self._read_fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
            self._fifo = fifo
            self._thread = threading.Thread(target=self._pump, name="sealog-strace", daemon=True)
            self._thread.start()

    @property
    def active(self) -> bool:
        """Whether the workload is traced."""
        return self._options is not None

    @property
    def calls(self) -> int:
        """Calls, signals and exits seen so far (recorded or counted)."""
        return self._collapser.calls

    def command(self, cmd: Sequence[str]) -> list[str]:
        """The command line that starts ``cmd`` traced (``cmd`` itself when not traced)."""
        if self._options is None:
            return list(cmd)
        calls = ",".join(TRACED_CALLS)
        # -D: strace runs as a detached grandchild, so the process the runtime started is the
        # workload itself: signals forwarded to it and its exit status are the workload's.
        return [*self._options, "-D", "-e", f"trace={calls}", "-o", self._fifo, "--", *cmd]

    def _pump(self) -> None:
        parser = StraceParser()
        feed = self._collapser.feed
        fd = self._read_fd
        rest = b""
        try:
            while chunk := os.read(fd, _CHUNK):
                *lines, rest = (rest + chunk).split(b"\n")
                for raw in lines:
                    parsed = parser.parse(raw.decode("utf-8", "replace"))
                    if parsed is not None:
                        feed(*parsed)
                if len(chunk) < _CHUNK // 2:
                    # strace writes line by line: waking for every line costs two context
                    # switches per call, on a busy machine far more than the parsing. The pipe
                    # is large, so strace runs on while this waits for a batch to gather.
                    time.sleep(_GATHER)
        finally:
            os.close(fd)

    def finish(self, timeout: float = 5.0) -> None:
        """Read the trace to its end (strace exits after the last traced process) and seal the
        last counts. Descendants that outlive the workload are traced for at most ``timeout``
        seconds more; a sealed note says when the trace was cut there."""
        if self._hold_fd >= 0:
            os.close(self._hold_fd)
            self._hold_fd = -1
        if self._thread is not None:
            self._thread.join(timeout)
            self.complete = not self._thread.is_alive()
        self._collapser.close()
        if not self.complete:
            self._collapser.note(
                WARNING,
                f"syscall trace cut: processes still running {timeout:g} s after the workload",
                {"tracer": TRACER, "event": "trace.cut"},
            )
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


def _resolves(exe: str) -> bool:
    """Whether ``exe`` names a program that can start (else the workload's own start error
    must stay what it is without strace in between)."""
    if os.sep in exe:
        return os.access(exe, os.X_OK) and not os.path.isdir(exe)
    return shutil.which(exe) is not None


def start_syscall_trace(
    cmd: Sequence[str],
    submit: Callable[[Row], None],
    *,
    strace: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> SyscallTrace:
    """Prepare the system-call trace of ``cmd``, rows going to ``submit``.

    When strace cannot trace here, a sealed WARNING says why and the returned trace is inactive
    (its :meth:`SyscallTrace.command` is ``cmd`` itself): the workload still runs.

    Args:
        cmd: the workload's command line.
        submit: where rows go (the sealed session).
        strace: the strace binary (default: ``strace`` on ``PATH``).
        clock: monotonic seconds, for the collapse windows.

    Returns:
        The trace; its ``status`` belongs in the platform fingerprint.
    """
    collapser = SyscallCollapser(submit, clock=clock)
    if not cmd or not _resolves(cmd[0]):
        return SyscallTrace(None, "not used: the workload cannot start", collapser)
    options, status = probe_strace(strace)
    if options is None:
        submit(
            make_row(
                time.time(),
                WARNING,
                "runtime",
                TRACE_LOGGER,
                f"syscall trace {status}; the workload runs untraced",
                None,
                None,
                {"tracer": TRACER, "event": "trace.unavailable", "reason": status},
            )
        )
    return SyscallTrace(options, status, collapser)
