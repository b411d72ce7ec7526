"""Whether a session file is still being written: the writer holds a lock on it while open.

A session without its closing frame is either still running or was cut off. The file alone
cannot tell them apart, so the writer (:class:`~sealog.host._store.SessionFile`) holds an
exclusive advisory lock (``flock``) on the file for as long as it has it open; the kernel
releases it when the writer closes the file or dies, however it dies. A reader on the same
machine asks for a shared lock without waiting: refused means a writer is there.

The host controls this signal as it controls everything else it stores: it can make a cut-off
session look live. That is why "open" is never "intact": the owner learns that frames may
still come, not that nothing is missing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

__all__ = ["hold_writer_lock", "writer_active"]


def hold_writer_lock(fd: int) -> None:
    """Mark an open session file as being written (until ``fd`` is closed)."""
    # A file system without locks: readers will see the session as cut off, as before.
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def writer_active(path: Path) -> bool:
    """True when some process has ``path`` open for writing a session (holds its lock)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing also releases the shared lock taken just now
    return False
