"""Stopping a workload: SIGINT/SIGTERM forwarded to its whole process group, then SIGKILL.

The handlers are installed when ``sealog run`` begins a session, before its header exists, so a
stop that arrives at any moment after that ends in a closed, intact session: before the
workload is started it is remembered (and the workload is never started); after, it is
forwarded to the workload's process group at once. Processes of the group still alive
:data:`STOP_GRACE` seconds later are killed with SIGKILL. When the workload's first process
exits, whatever it left running in its group gets the same treatment.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from types import FrameType

__all__ = ["STOP_GRACE", "StopSignals", "stop_group"]

#: Seconds between a stop signal reaching the workload's process group and SIGKILL.
STOP_GRACE = 5.0
_POLL = 0.05


def _signal_group(pgid: int, signum: int) -> bool:
    """Send ``signum`` to the group; False when no process is left in it."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a group of another user: nothing to stop
        return False
    return True


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` is still running.

    A process that has exited but not been reaped (a zombie: strace's detached tracer, whose
    parent is gone, waits for init to collect it) still counts for ``killpg(pgid, 0)``, yet it
    runs nothing; where ``/proc`` tells, zombies do not count.
    """
    if not _signal_group(pgid, 0):
        return False
    try:
        entries = os.listdir("/proc")
    except OSError:  # pragma: no cover - no /proc: trust the signal test
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def stop_group(pgid: int, grace: float) -> None:
    """SIGTERM every process left in group ``pgid``; SIGKILL those alive ``grace`` s later."""
    if not _signal_group(pgid, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _group_alive(pgid):
            return
        time.sleep(_POLL)
    _signal_group(pgid, signal.SIGKILL)


class StopSignals:
    """SIGINT and SIGTERM handlers for the length of one run.

    Args:
        grace: seconds between forwarding a stop and SIGKILL.
    """

    def __init__(self, grace: float = STOP_GRACE) -> None:
        self.grace = grace
        #: the first stop signal received, if any.
        self.received: int | None = None
        self._pgid: int | None = None
        self._timer: threading.Timer | None = None
        self._previous: dict[int, object] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
        self._forward(signum)

    def attach(self, pgid: int) -> None:
        """The workload runs as group ``pgid``: forward any stop received before now."""
        self._pgid = pgid
        if self.received is not None:
            self._forward(self.received)

    def _forward(self, signum: int) -> None:
        if self._pgid is None:
            return
        _signal_group(self._pgid, signum)
        if self._timer is None:
            self._timer = threading.Timer(self.grace, self._kill)
            self._timer.daemon = True
            self._timer.start()

    def _kill(self) -> None:
        if self._pgid is not None:
            _signal_group(self._pgid, signal.SIGKILL)

    def restore(self) -> None:
        """Cancel a pending SIGKILL and put the previous handlers back."""
        if self._timer is not None:
            self._timer.cancel()
        for signum, handler in self._previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)  # type: ignore[arg-type]
