"""The runtime's end of the record channel: one connection per Python process of the workload.

``sealog run`` listens on a Unix socket in its private bootstrap folder (mode 0700) and names
it in every workload process's environment. Each Python process that starts, or is forked,
opens its own connection (see ``_workload.py``), so lines from two processes never interleave
and a child never re-sends its parent's rows. On each connection the workload writes JSON lines
(a list of rows, or ``{"ring": [...]}``) and the runtime writes control lines (a profile
switch, a ring dump request) to every open connection.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["RecordChannel"]

_BACKLOG = 64


class RecordChannel:
    """Accepts workload connections and hands what they send to ``on_line``.

    Args:
        path: the socket's path (inside a folder only this user can enter).
        on_line: called with each decoded JSON line (None for a line that is not JSON), from
            the connection's own thread.
    """

    def __init__(self, path: Path, on_line: Callable[[Any], None]) -> None:
        self.path = path
        self._on_line = on_line
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(_BACKLOG)
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._readers: list[threading.Thread] = []
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept, name="sealog-records", daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except BlockingIOError:  # stop_accepting() is taking in the last connections
                if self._closed:
                    return
                time.sleep(0.001)
                continue
            except OSError:
                return  # closed
            if not self._take(conn):
                return

    def _take(self, conn: socket.socket) -> bool:
        """Start reading a new connection; False (and the connection closed) once closed."""
        conn.setblocking(True)
        reader = threading.Thread(
            target=self._read, args=(conn,), name="sealog-records", daemon=True
        )
        with self._lock:
            if self._closed:
                conn.close()
                return False
            self._conns.add(conn)
            self._readers.append(reader)
        reader.start()
        return True

    def _read(self, conn: socket.socket) -> None:
        # Loaded with the first connection: a workload that is not Python never needs it.
        from sealog.seal._fast_json import decode_json  # noqa: PLC0415

        try:
            with conn.makefile("rb") as fh:
                for line in fh:
                    try:
                        message = decode_json(line)
                    except (ValueError, RecursionError):
                        # A workload cannot corrupt the session, only lose its own rows: the
                        # receiver counts the line as refused.
                        message = None
                    self._on_line(message)
        except OSError:
            pass  # the process went away mid-line: what arrived whole is kept
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def broadcast(self, message: dict[str, Any]) -> None:
        """Write one control line to every connected process."""
        data = (json.dumps(message) + "\n").encode()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):  # a process that exited takes no more lines
                conn.sendall(data)

    def stop_accepting(self) -> None:
        """Take no new connections (the workload is gone). Connections already made but not
        yet accepted (a process that connected, wrote and exited) are taken in first."""
        if self._closed:
            return
        self._server.setblocking(False)
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                break  # none waiting
            self._take(conn)
        with self._lock:
            self._closed = True
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._acceptor.join(timeout=1)

    def join(self, timeout: float) -> None:
        """Wait until every connection has ended (each process closed its end) or ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            readers = list(self._readers)
        for reader in readers:
            reader.join(timeout=max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Cut every connection still open."""
        self.stop_accepting()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
