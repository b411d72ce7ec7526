"""The workload half of the Keep runtime: runs inside the workload's own interpreter.

``sealog run`` puts a ``sitecustomize`` on the workload's ``PYTHONPATH`` that calls
:func:`install` before any workload code runs. Standard library only: the workload's
interpreter may be another installation that lacks sealog's dependencies.

Rows travel to the runtime over an inherited pipe as JSON lines, each a list of rows. Records
at ERROR and above are written to the pipe before the logging call returns, so once the call
returns they survive the workload being killed; other records are batched (at most
``_BATCH`` rows or ``_INTERVAL`` seconds) so the hot path makes no system call per record.
"""

from __future__ import annotations

import atexit
import faulthandler
import json
import logging
import os
import sys
import threading
from types import TracebackType
from typing import Any

from sealog.keep._handler import SealogHandler
from sealog.keep._shape import capture_exception
from sealog.seal._row import Row, make_row
from sealog.seal._vocabulary import ERROR, UNCAUGHT_LOGGER

__all__ = ["ENV_VAR", "PipeSink", "install"]

ENV_VAR = "SEALOG_KEEP"
_BATCH = 512
_INTERVAL = 0.2


class PipeSink:
    """Sends rows to the runtime process over a pipe."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._rows: list[Row] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="sealog-pipe", daemon=True)
        self._thread.start()

    def submit(self, row: Row) -> None:
        """Queue a row; ERROR and above (and a full batch) are written before returning."""
        rows = self._rows
        rows.append(row)
        if row[1] >= ERROR or len(rows) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        """Write every queued row to the pipe."""
        with self._lock:
            if not self._rows or self._closed:
                return
            rows, self._rows = self._rows, []
            data = (json.dumps(rows, separators=(",", ":"), default=str) + "\n").encode()
            view = memoryview(data)
            try:
                while view:
                    n = os.write(self._fd, view)
                    view = view[n:]
            except OSError:
                # The runtime is gone: nothing can be sealed any more; do not break the workload.
                self._closed = True

    def send_message(self, message: dict[str, Any]) -> None:
        """Write one control message (after the rows queued before it)."""
        self.flush()
        data = (json.dumps(message, separators=(",", ":"), default=str) + "\n").encode()
        with self._lock:
            try:
                os.write(self._fd, data)
            except OSError:
                self._closed = True

    def _run(self) -> None:
        while not self._stop.wait(_INTERVAL):
            self.flush()

    def close(self) -> None:
        """Flush and stop (at interpreter exit)."""
        self._stop.set()
        self.flush()


def _excepthook(sink: PipeSink, handler: SealogHandler) -> Any:
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
    """Route this interpreter's logging into the Keep runtime, if ``sealog run`` started it."""
    config = os.environ.pop(ENV_VAR, None)
    if not config:
        return None
    from sealog.profile import parse_profile, resolve_profile  # noqa: PLC0415 - only in a Keep

    settings = json.loads(config)
    if settings.get("profile_toml"):
        # The text the runtime read at launch and checked against the header's digest.
        profile = parse_profile(settings["profile_toml"], source=str(settings["profile"]))
    else:
        profile = resolve_profile(settings["profile"])
    sink = PipeSink(int(settings["fd"]))
    handler = SealogHandler(sink, profile)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(handler.threshold)
    # Fatal signals (segfaults, aborts) print Python stacks to stderr, which the runtime seals.
    faulthandler.enable()
    sys.excepthook = _excepthook(sink, handler)
    atexit.register(sink.close)
    if profile.trace:
        from sealog.keep._trace import install_trace  # noqa: PLC0415 - only when tracing

        install_trace(sink, profile)
    if "control_fd" in settings:
        threading.Thread(
            target=_follow_control,
            args=(int(settings["control_fd"]), handler, sink, root),
            name="sealog-control",
            daemon=True,
        ).start()
    return handler


def _follow_control(fd: int, handler: SealogHandler, sink: PipeSink, root: logging.Logger) -> None:
    """Apply what the runtime says after a change order: a profile switch, a ring dump."""
    from sealog.profile import parse_profile  # noqa: PLC0415

    with os.fdopen(fd, "rb") as fh:
        for line in fh:
            try:
                message = json.loads(line)
                if message.get("profile_toml"):
                    # The text the runtime bound at launch: never a name looked up here.
                    profile = parse_profile(str(message["profile_toml"]), source="change order")
                    handler.apply_profile(profile)
                    root.setLevel(handler.threshold)
                if message.get("ring"):
                    sink.send_message({"ring": handler.ring_rows()})
            except Exception:  # noqa: S112 - a bad message must not kill the workload
                continue
