"""The workload half of the Keep runtime: runs inside the workload's own interpreters.

``sealog run`` puts a ``sitecustomize`` on the ``PYTHONPATH`` of every command it starts and
names its record channel in the environment (:data:`ENV_VAR`), so *every* Python process of the
workload calls :func:`install` before its own code runs: ``python app.py``, ``./app.py``,
``env python3 app.py``, console scripts, ``python -m`` and every Python subprocess it starts,
``multiprocessing`` children of every start method included. Standard library only: a
workload's interpreter may be another installation that lacks sealog's dependencies (where it
has them, batches are encoded by sealog's fast encoder, which writes the same JSON values).

Each process opens its own connection to the runtime's Unix socket, on first use. A forked
child (``os.fork``, ``multiprocessing`` fork and forkserver) drops what it inherited (the
parent's connection and its unsent rows, which the parent still sends) and opens its own, so
every record arrives exactly once. Records at ERROR and above are written before the logging
call returns, so once the call returns they survive the process being killed; other records
are batched (at most ``_BATCH`` rows or ``_INTERVAL`` seconds), and written before the process
ends, ``os._exit`` included.
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import json
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, NoReturn

from sealog.keep._handler import SealogHandler
from sealog.keep._shape import capture_exception
from sealog.seal._row import Row, make_row
from sealog.seal._vocabulary import ERROR, UNCAUGHT_LOGGER

__all__ = ["ENV_VAR", "SocketSink", "install"]

ENV_VAR = "SEALOG_KEEP"
_BATCH = 512
_INTERVAL = 0.2
_EXIT_FLUSH_WAIT = 2.0  # seconds os._exit waits for another thread's write before giving up


#: Batches of at least this many rows take the fast encoder; a few rows cost little either way,
#: and a process that logs a few records does not load it.
_FAST_ROWS = 16


def _encode_rows(rows: list[Row]) -> bytes:
    """One line of the record channel: the rows as a JSON array and a newline. A large batch
    goes through sealog's fast encoder (a tenth of ``json.dumps``'s time per row, the same JSON
    values), which declines where this interpreter lacks sealog's dependencies."""
    if len(rows) >= _FAST_ROWS:
        from sealog.seal._fast_json import encode_plain_rows  # noqa: PLC0415 - see _FAST_ROWS

        data = encode_plain_rows(rows)
        if data is not None:
            return data + b"\n"
    return (json.dumps(rows, separators=(",", ":"), default=str) + "\n").encode()


class SocketSink:
    """Sends rows to the runtime over this process's own connection.

    Args:
        path: the runtime's socket.
        on_control: called with each control line the runtime sends (a profile, a ring dump).
    """

    def __init__(self, path: str, on_control: Callable[[dict[str, Any]], None]) -> None:
        self._path = path
        self._on_control = on_control
        self._rows: list[Row] = []
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._closed = False
        self._started = False
        self._stop = threading.Event()

    # -- fork safety -------------------------------------------------------------------------
    def before_fork(self) -> None:
        """Hold the lock across fork(), so the child never inherits a half-written batch."""
        self._lock.acquire()

    def after_fork_in_parent(self) -> None:
        self._lock.release()

    def after_fork_in_child(self) -> None:
        """The child starts afresh: its own lock, no rows (the parent sends its own), and its
        own connection, opened on first use. The inherited socket is only closed here (its
        other copy stays the parent's)."""
        self._lock = threading.Lock()
        self._rows = []
        if self._sock is not None:
            # Closing the child's copy of the descriptor leaves the parent's connection open
            # (no shutdown: that would cut the parent off too).
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        self._started = False
        self._stop = threading.Event()

    # -- rows --------------------------------------------------------------------------------
    def submit(self, row: Row) -> None:
        """Queue a row; ERROR and above (and a full batch) are written before returning."""
        if not self._started:
            self._start()
        rows = self._rows
        rows.append(row)
        if row[1] >= ERROR or len(rows) >= _BATCH:
            self.flush()

    def _start(self) -> None:
        self._started = True
        threading.Thread(target=self._run, name="sealog-pipe", daemon=True).start()

    def _connect(self) -> socket.socket | None:
        if self._sock is None and not self._closed:
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(self._path)
            except OSError:
                self._closed = True  # no runtime: nothing can be sealed; do not break the workload
                return None
            self._sock = sock
            threading.Thread(
                target=self._follow, args=(sock,), name="sealog-control", daemon=True
            ).start()
        return self._sock

    def flush(self, timeout: float = -1) -> None:
        """Write every queued row (waiting at most ``timeout`` seconds for the lock)."""
        if not self._lock.acquire(timeout=timeout):
            return
        try:
            if not self._rows or self._closed:
                return
            rows, self._rows = self._rows, []
            self._send(_encode_rows(rows))
        finally:
            self._lock.release()

    def _send(self, data: bytes) -> None:
        sock = self._connect()
        if sock is None:
            return
        try:
            sock.sendall(data)
        except OSError:
            # The runtime is gone: nothing can be sealed any more; do not break the workload.
            self._closed = True

    def send_message(self, message: dict[str, Any]) -> None:
        """Write one message to the runtime (after the rows queued before it)."""
        self.flush()
        data = (json.dumps(message, separators=(",", ":"), default=str) + "\n").encode()
        with self._lock:
            if not self._closed:
                self._send(data)

    def _run(self) -> None:
        stop = self._stop
        while not stop.wait(_INTERVAL):
            self.flush()

    def _follow(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError), sock.makefile("rb") as fh:
            for line in fh:
                try:
                    self._on_control(json.loads(line))
                except Exception:  # noqa: S112 - a bad message must not kill the workload
                    continue

    def close(self) -> None:
        """Flush and stop (at interpreter exit)."""
        self._stop.set()
        self.flush(timeout=_EXIT_FLUSH_WAIT)


def _excepthook(sink: SocketSink, handler: SealogHandler) -> Any:
    def hook(etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        exc = capture_exception((etype, value, tb), with_locals=handler.profile.reveal_secrets)
        import time  # noqa: PLC0415 - only on the way out

        sink.submit(
            make_row(
                time.time(),
                logging.CRITICAL,
                "workload",
                UNCAUGHT_LOGGER,
                f"uncaught {exc['type']}",
                None,
                exc,
            )
        )
        sink.flush()
        if handler.profile.reveal_secrets:
            sys.__excepthook__(etype, value, tb)

    return hook


def install() -> SealogHandler | None:
    """Route this interpreter's logging into the Keep runtime, if ``sealog run`` started it.

    The channel stays in the environment, so the processes this one starts find it too.
    """
    config = os.environ.get(ENV_VAR)
    if not config:
        return None
    from sealog.profile import parse_profile, resolve_profile  # noqa: PLC0415 - only in a Keep

    settings = json.loads(config)
    if settings.get("profile_toml"):
        # The text the runtime read at launch and checked against the header's digest.
        profile = parse_profile(settings["profile_toml"], source=str(settings["profile"]))
    else:
        profile = resolve_profile(settings["profile"])
    root = logging.getLogger()
    holder: list[SealogHandler] = []

    def on_control(message: dict[str, Any]) -> None:
        handler = holder[0]
        if message.get("profile_toml"):
            # The text the runtime bound at launch: never a name looked up here.
            handler.apply_profile(
                parse_profile(str(message["profile_toml"]), source="change order")
            )
            root.setLevel(handler.threshold)
        if message.get("ring"):
            sink.send_message({"ring": handler.ring_rows()})

    sink = SocketSink(str(settings["socket"]), on_control)
    handler = SealogHandler(sink, profile)
    holder.append(handler)
    root.addHandler(handler)
    root.setLevel(handler.threshold)
    # Fatal signals (segfaults, aborts) print Python stacks to stderr, which the runtime seals.
    faulthandler.enable()
    sys.excepthook = _excepthook(sink, handler)
    atexit.register(sink.close)

    def child() -> None:
        sink.after_fork_in_child()
        handler.ring.clear()  # the parent's flight recorder is the parent's to dump

    os.register_at_fork(
        before=sink.before_fork, after_in_parent=sink.after_fork_in_parent, after_in_child=child
    )
    _flush_before_exit(sink)
    if profile.trace:
        from sealog.keep._trace import install_trace  # noqa: PLC0415 - only when tracing

        install_trace(sink, profile)
    return handler


def _flush_before_exit(sink: SocketSink) -> None:
    """Make ``os._exit`` write what is queued first: ``multiprocessing`` children and many
    servers' workers end that way, skipping ``atexit``."""
    real_exit = os._exit

    def _exit(status: int) -> NoReturn:
        with contextlib.suppress(Exception):
            sink.close()
        real_exit(status)

    os._exit = _exit
