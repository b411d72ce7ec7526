"""The runtime trace: what a Python workload asks of its environment (DESIGN.md section 7).

An audit hook (PEP 578) sees file opens, process creation, sockets, imports and more. Each
event becomes a ``runtime`` record (logger ``sealog.trace``, level DEBUG) with its arguments
summarised. Volume is controlled where it is cheapest, inside the hook:

* repeats collapse: an event with the same name and summary as one already seen in the current
  window is only counted, and the counts are sealed as one record when the window closes;
* a rate limit caps distinct events per window; what is over it is counted, never silent.

Standard library only; runs inside the workload's interpreter.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Protocol

from sealog.profile._model import Profile
from sealog.seal._row import Row, make_row
from sealog.seal._vocabulary import TRACE_LOGGER

__all__ = ["TRACED", "Tracer", "install_trace"]

#: Audit events recorded, and how many of their arguments are summarised.
TRACED: dict[str, int] = {
    "open": 2,
    "os.remove": 1,
    "os.rename": 2,
    "os.mkdir": 1,
    "os.listdir": 1,
    "os.chdir": 1,
    "os.system": 1,
    "os.exec": 2,
    "os.posix_spawn": 2,
    "os.kill": 2,
    "subprocess.Popen": 2,
    "socket.connect": 2,
    "socket.bind": 2,
    "socket.getaddrinfo": 2,
    "import": 1,
    "ctypes.dlopen": 1,
    "shutil.rmtree": 1,
}
#: The ``tracer`` field of this trace's records (the system-call trace says ``strace``).
TRACER = "audit-hook"
_WINDOW = 1.0
_MAX_PER_WINDOW = 200
_MAX_ARG = 160


class _Sink(Protocol):
    def submit(self, row: Row) -> None: ...


def _summary(args: tuple[Any, ...], n: int) -> list[str]:
    out = []
    for a in args[:n]:
        if isinstance(a, os.PathLike):
            a = os.fspath(a)  # noqa: PLW2901 - a path is summarised as the path
        if isinstance(a, bytes):
            text = a.decode("utf-8", "replace")
        else:
            text = a if isinstance(a, str) else repr(a)
        out.append(text if len(text) <= _MAX_ARG else text[: _MAX_ARG - 3] + "...")
    return out


class Tracer:
    """Turns audit events into rows, collapsing repeats and limiting the rate."""

    def __init__(self, sink: _Sink, *, clock: Any = time.monotonic) -> None:
        self._sink = sink
        self._clock = clock
        self._seen: dict[tuple[str, tuple[str, ...]], int] = {}
        self._window_start = clock()
        self._emitted = 0
        self._over = 0
        self._busy = threading.local()
        self.events = 0
        self.rows = 0

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        n = TRACED.get(event)
        if n is None or getattr(self._busy, "on", False):
            return
        self._busy.on = True  # our own work (json, sockets to the runtime) must not recurse
        try:
            self.events += 1
            key = (event, tuple(_summary(args, n)))
            if self._admit(key):
                self._row(f"{event} {' '.join(key[1])}", {"event": event, "args": list(key[1])})
        finally:
            self._busy.on = False

    def _admit(self, key: tuple[str, tuple[str, ...]]) -> bool:
        """Whether ``key`` becomes a record: not when it repeats in this window (it is counted)
        nor when the window's budget is spent (it is counted as over the limit)."""
        now = self._clock()
        if now - self._window_start >= _WINDOW:
            self._close_window(now)
        count = self._seen.get(key)
        if count is not None:
            self._seen[key] = count + 1
            return False
        if self._emitted >= _MAX_PER_WINDOW:
            self._over += 1
            return False
        self._seen[key] = 1
        self._emitted += 1
        return True

    def record_outcome(self, event: str, args: list[str], error: str) -> None:
        """Record how a traced call failed (for example the exception an ``open`` raised).

        Failures go through the same collapse and limit as events: a retry loop on a missing
        file is one record and a count, not one record per attempt.
        """
        if self._admit((f"{event} failed", (*args, error))):
            self._row(
                f"{event} failed: {error}", {"event": event, "args": args, "error": error}, 30
            )

    def _row(self, message: str, fields: dict[str, Any], level: int = 10) -> None:
        self.rows += 1
        self._sink.submit(
            make_row(
                time.time(),
                level,
                "runtime",
                TRACE_LOGGER,
                message,
                None,
                None,
                {"tracer": TRACER, **fields},
            )
        )

    def _close_window(self, now: float) -> None:
        repeats = {f"{e} {' '.join(a)}": c - 1 for (e, a), c in self._seen.items() if c > 1}
        if repeats or self._over:
            top = dict(sorted(repeats.items(), key=lambda kv: -kv[1])[:20])
            self._row(
                f"trace summary: {sum(repeats.values())} repeats collapsed, "
                f"{self._over} events over the rate limit",
                {
                    "repeats": top,
                    "repeats_total": sum(repeats.values()),
                    "over_limit": self._over,
                },
            )
        self._seen.clear()
        self._emitted = 0
        self._over = 0
        self._window_start = now

    def flush(self) -> None:
        """Seal the counts of the current window (at exit)."""
        self._close_window(self._clock())


def _watch_open(tracer: Tracer) -> None:
    """Record how ``open()`` failed: the audit event fires before the call, the outcome after."""
    import builtins  # noqa: PLC0415
    import functools  # noqa: PLC0415
    import io  # noqa: PLC0415

    original = builtins.open

    @functools.wraps(original)
    def open_watched(file: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(file, *args, **kwargs)
        except OSError as exc:
            mode = args[0] if args else kwargs.get("mode", "r")
            error = f"{type(exc).__name__}: [Errno {exc.errno}] {exc.strerror}"
            tracer.record_outcome("open", _summary((file, mode), 2), error)
            raise

    # pathlib calls io.open, plain code calls builtins.open: they are one function, patch both.
    builtins.open = open_watched
    io.open = open_watched


def install_trace(sink: _Sink, profile: Profile) -> Tracer:
    """Install the audit hook (it cannot be removed: PEP 578) and return its tracer."""
    tracer = Tracer(sink)
    sys.addaudithook(tracer)
    _watch_open(tracer)
    import atexit  # noqa: PLC0415

    atexit.register(tracer.flush)
    return tracer
