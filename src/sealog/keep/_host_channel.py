"""The host channel: the only cleartext that leaves the Keep, from a fixed vocabulary.

Every event is one JSON object on one line. Its name and every field name come from
:data:`VOCABULARY`; values are numbers, booleans, or strings from closed sets (profile names,
cause codes, hex ids). Anything else is refused before it is written, so free text from the
workload cannot reach the host by mistake. The one exception is ``keep.log``, which carries
plain log lines and exists only under a development profile (``host = "records"``).

``keep.log`` lines come one per record, so they are written in batches: at most
:data:`LOG_BATCH` lines or :data:`LOG_DELAY` seconds after the first one waits, and always before
any other event, so the host's view keeps its order. Every other event is written at once.
Nothing sealed depends on these lines: the owner's copy of each record is in the sealed stream.
"""

from __future__ import annotations

import atexit
import json
import re
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["CAUSES", "LOG_BATCH", "LOG_DELAY", "VOCABULARY", "HostChannel", "HostEvent"]

#: ``keep.log`` lines written together at most.
LOG_BATCH = 512
#: Seconds a ``keep.log`` line waits at most before it is written.
LOG_DELAY = 0.2

#: event name -> allowed fields (``event`` and ``time`` are always present).
VOCABULARY: dict[str, frozenset[str]] = {
    "keep.starting": frozenset({"session", "profile", "attest"}),
    "keep.ready": frozenset({"session", "pid"}),
    "keep.error": frozenset({"session", "code"}),
    "keep.exited": frozenset({"session", "status", "signal"}),
    "keep.failed": frozenset({"session", "code", "status", "signal"}),
    "keep.profile_changed": frozenset({"session", "profile"}),
    "keep.profile_reverted": frozenset({"session", "profile"}),
    "keep.order_refused": frozenset({"session", "code"}),
    "keep.announce_wanted": frozenset({"session", "digest", "wait"}),
    "keep.announced": frozenset({"session"}),
    "keep.closed": frozenset({"session", "frames"}),
    "keep.log": frozenset({"session", "level", "logger", "message"}),
}

#: Generic cause codes: what the host may be told about a failure.
CAUSES = frozenset(
    {
        "workload.error",  # a record at the host profile's level (events+codes only)
        "workload.exit_nonzero",
        "workload.uncaught_exception",
        "workload.killed",
        "workload.not_started",
        "runtime.internal",
        "order.refused",
        "announce.refused",  # the announcement bundle failed the Keep's check
        "announce.timeout",  # no announcement bundle within the policy's announce_wait
        "announce.stopped",  # SIGINT or SIGTERM while waiting for the announcement
    }
)

_TOKEN = re.compile(r"^[a-z0-9][a-z0-9_.+-]{0,63}$")
_FREE_TEXT_EVENTS = frozenset({"keep.log"})
_DEFERRED = "keep.log"

#: Channels holding deferred lines, flushed at interpreter exit.
_LIVE: weakref.WeakSet[HostChannel] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for channel in list(_LIVE):
        channel.flush()


class HostEvent(dict[str, Any]):
    """One event as handed to the ``record`` callback: the dict, plus its rendered line.

    Attributes:
        line: the event's JSON line (without the newline), as written to the stream, so the
            store does not encode it a second time.
        more: more events are handed over right after this one: the receiver may buffer it
            until the next event without ``more``.
    """

    line: str
    more: bool


class HostChannel:
    """Writes host-channel events to a text stream and/or a callback (the store's events file).

    Args:
        stream: where lines go (``sealog run`` uses its stderr), or None.
        record: also called with each event (the store keeps what the host saw), or None.
        record_lines: if given, called instead of ``record`` with each batch of ``keep.log``
            lines as written, one text of whole lines (one call per batch, not one event
            object per line).
        session: the session id added to every event.
        clock: wall clock for the ``time`` field.
    """

    def __init__(
        self,
        stream: TextIO | None,
        *,
        record: Callable[[dict[str, Any]], None] | None = None,
        record_lines: Callable[[str], None] | None = None,
        session: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._stream = stream
        self._record = record
        self._record_lines = record_lines
        self.session = session
        self._clock = clock
        self._lock = threading.Lock()
        #: ``keep.log`` lines waiting to be written, rendered.
        self._pending: list[str] = []
        self._flusher: threading.Thread | None = None
        self._session_json = f',"session":{_quote(session)}' if session else ""

    def emit(self, event: str, **fields: Any) -> None:
        """Write one event.

        Raises:
            ValueError: the event or a field is not in the vocabulary, or a value is free text.
        """
        allowed = VOCABULARY.get(event)
        if allowed is None:
            raise ValueError(f"host channel: {event!r} is not in the vocabulary")
        if self.session:
            fields.setdefault("session", self.session)
        for name, value in fields.items():
            if name not in allowed:
                raise ValueError(f"host channel: field {name!r} not allowed in {event}")
            if event in _FREE_TEXT_EVENTS or value is None or isinstance(value, bool | int | float):
                continue
            if not (isinstance(value, str) and _TOKEN.match(value)):
                raise ValueError(f"host channel: {event}.{name} must be a token, got free text")
            if name == "code" and value not in CAUSES:
                raise ValueError(f"host channel: unknown cause code {value!r}")
        obj = HostEvent(event=event, time=round(self._clock(), 3), **fields)
        obj.more = False
        if event == _DEFERRED:
            self._defer(json.dumps(obj, sort_keys=True, separators=(",", ":")))
            return
        with self._lock:
            if self._pending:
                self._write_pending()
            obj.line = json.dumps(obj, sort_keys=True, separators=(",", ":"))
            if self._stream is not None:
                self._stream.write(obj.line + "\n")
                self._stream.flush()
            if self._record is not None:
                self._record(obj)

    def log(self, level: str, logger: str, message: str) -> None:
        """Write one ``keep.log`` line: :meth:`emit` for the one free-text event, without the
        token checks that do not apply to it (a development profile calls this per record)."""
        # Rendered here, directly: ``json.dumps(event, sort_keys=True)`` for these five keys
        # took more than the sealing of the same record.
        level_json = _LEVELS_JSON.get(level)
        if level_json is None:
            level_json = _quote(level)
        self._defer(
            f'{{"event":"keep.log","level":{level_json},"logger":{_quote(logger)},'
            f'"message":{_quote(message)}{self._session_json},"time":{json_time(self._clock())}}}'
        )

    def _defer(self, line: str) -> None:
        with self._lock:
            pending = self._pending
            pending.append(line)
            if len(pending) >= LOG_BATCH:
                self._write_pending()
            elif len(pending) == 1:
                self._start_flusher()

    def flush(self) -> None:
        """Write the ``keep.log`` lines that wait."""
        with self._lock:
            if self._pending:
                self._write_pending()

    def _write_pending(self) -> None:
        """One write for the lines that wait (caller holds the lock)."""
        pending, self._pending = self._pending, []
        text = "\n".join(pending) + "\n"
        if self._stream is not None:
            self._stream.write(text)
            self._stream.flush()
        if self._record_lines is not None:
            self._record_lines(text)
        elif self._record is not None:
            last = len(pending) - 1
            for i, line in enumerate(pending):
                event = HostEvent(json.loads(line))
                event.line = line
                event.more = i < last
                self._record(event)

    def _start_flusher(self) -> None:
        """Make sure a waiting line is written within :data:`LOG_DELAY` (caller holds the lock)."""
        if self._flusher is not None and self._flusher.is_alive():
            return
        _LIVE.add(self)
        self._flusher = threading.Thread(
            target=_flush_later, args=(weakref.ref(self),), name="sealog-host", daemon=True
        )
        self._flusher.start()


_quote = json.encoder.encode_basestring_ascii  # what json.dumps uses for strings


def json_time(t: float) -> str:
    """``json.dumps(round(t, 3))``: an event's time as every event line writes it.

    For a clock's value (a float from 0 to 10^12 seconds) three decimals always survive the
    round trip through a float, so the shortest text of the rounded float is the three-decimal
    text without its trailing zeros: half the cost of rounding and printing the float, paid on
    every line of a development profile's host copy.
    """
    if t.__class__ is float and 0.0 <= t < 1e12:
        text = f"{t:.3f}".rstrip("0")
        return text + "0" if text[-1] == "." else text
    return json.dumps(round(t, 3))


#: The JSON text of the usual level names, made once.
_LEVELS_JSON = {name: _quote(name) for name in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")}


def _flush_later(ref: weakref.ref[HostChannel]) -> None:
    """Flush a channel every :data:`LOG_DELAY` while lines keep coming; stop when idle."""
    while True:
        time.sleep(LOG_DELAY)
        channel = ref()
        if channel is None:
            return
        with channel._lock:
            if not channel._pending:
                channel._flusher = None
                return
            channel._write_pending()
        del channel
