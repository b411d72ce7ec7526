"""A helper process that writes prepared frames at their due time, whatever the runtime is doing.

Under cover traffic the host must not learn from *when* a frame leaves how busy the Keep is.
Inside one interpreter, a thread that wakes for a frame must first win the interpreter lock
from the threads that take in a burst of records, which delays it by milliseconds. So
``sealog run`` seals each scheduled frame about half an interval ahead and hands it, with its
due time on the system's monotonic clock, to this helper: a separate, single-threaded
interpreter that only sleeps and writes. The runtime's load cannot delay it.

Protocol on the helper's stdin-like pipe: ``due f64 | length u32 | bytes``; after each write the
helper answers on its pipe with ``unix_time f64 | lateness f64`` (seconds after due). End of
input means the session is ending: the helper writes what it holds at once, and exits.
"""

from __future__ import annotations

import collections
import contextlib
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Callable

__all__ = ["TimedWriter"]

_HEAD = struct.Struct(">dI")
_ACK = struct.Struct(">dd")

# Standard library only, run with -I -S: nothing of the workload's or sealog's start-up.
_HELPER = """
import collections, os, select, signal, struct, sys, time
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(sig, signal.SIG_IGN)  # the runtime ends it, by closing its input
fd, src, ack = (int(a) for a in sys.argv[1:4])
head, done = struct.Struct(">dI"), struct.Struct(">dd")
held, closing = collections.deque(), False
def read(n):
    buf = b""
    while len(buf) < n:
        chunk = os.read(src, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf
def take():
    global closing
    raw = read(head.size)
    if raw is None:
        closing = True
        return
    due, n = head.unpack(raw)
    data = read(n)
    if data is None:
        closing = True
        return
    held.append((due, data))
while True:
    if not held:
        if closing:
            break
        take()
        continue
    due, data = held[0]
    delay = due - time.monotonic()
    # The session is ending (input closed): what is held leaves now, the end is visible anyway.
    if delay > 0 and not closing and select.select([src], [], [], delay)[0]:
        take()
        continue
    held.popleft()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    late = time.monotonic() - due
    os.write(ack, done.pack(time.time(), late))
"""


class TimedWriter:
    """Writes bytes to ``fd`` at given monotonic times, from a helper process.

    Args:
        fd: the file descriptor the frames go to (opened for appending).
        written: called in order with ``(size, unix_time)`` of each write (``size`` as given
            to :meth:`write_at`), from a thread of this process (the store's index notes).
    """

    def __init__(self, fd: int, written: Callable[[int, float], None]) -> None:
        src_r, self._src = os.pipe()
        self._ack, ack_w = os.pipe()
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _HELPER, str(fd), str(src_r), str(ack_w)],
            pass_fds=(fd, src_r, ack_w),
            stdin=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,  # a terminal's ^C is for the runtime, not for the helper
        )
        os.close(src_r)
        os.close(ack_w)
        self._written = written
        self._sizes: collections.deque[int] = collections.deque()
        #: seconds each write came after its due time, most recent last (diagnostics).
        self.lateness: collections.deque[float] = collections.deque(maxlen=100_000)
        self._acks = threading.Thread(target=self._read_acks, name="sealog-acks", daemon=True)
        self._acks.start()

    def write_at(self, due: float, data: bytes, size: int) -> None:
        """Have ``data`` written at monotonic time ``due`` (after everything handed over
        before); ``size`` is what ``written`` is told for it."""
        self._sizes.append(size)
        message = _HEAD.pack(due, len(data)) + data
        view = memoryview(message)
        while view:
            view = view[os.write(self._src, view) :]

    def _read_acks(self) -> None:
        with os.fdopen(self._ack, "rb", buffering=0) as fh:
            while True:
                raw = b""
                while len(raw) < _ACK.size:
                    chunk = fh.read(_ACK.size - len(raw))
                    if not chunk:
                        return
                    raw += chunk
                when, late = _ACK.unpack(raw)
                self.lateness.append(late)
                size = self._sizes.popleft() if self._sizes else 0
                self._written(size, when)

    def close(self) -> None:
        """Have the helper write what it holds now (the session is ending), then end it;
        returns when it has."""
        with contextlib.suppress(OSError):
            os.close(self._src)
        self._proc.wait()
        self._acks.join()
