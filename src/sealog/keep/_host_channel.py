"""The host channel: the only cleartext that leaves the Keep, from a fixed vocabulary.

Every event is one JSON object on one line. Its name and every field name come from
:data:`VOCABULARY`; values are numbers, booleans, or strings from closed sets (profile names,
cause codes, hex ids). Anything else is refused before it is written, so free text from the
workload cannot reach the host by mistake. The one exception is ``keep.log``, which carries
plain log lines and exists only under a development profile (``host = "records"``).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["CAUSES", "VOCABULARY", "HostChannel"]

#: event name -> allowed fields (``event`` and ``time`` are always present).
VOCABULARY: dict[str, frozenset[str]] = {
    "keep.starting": frozenset({"session", "profile", "attest"}),
    "keep.ready": frozenset({"session", "pid"}),
    "keep.heartbeat": frozenset({"session", "frames"}),
    "keep.error": frozenset({"session", "code"}),
    "keep.exited": frozenset({"session", "status", "signal"}),
    "keep.failed": frozenset({"session", "code", "status", "signal"}),
    "keep.profile_changed": frozenset({"session", "profile"}),
    "keep.profile_reverted": frozenset({"session", "profile"}),
    "keep.order_refused": frozenset({"session", "code"}),
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
    }
)

_TOKEN = re.compile(r"^[a-z0-9][a-z0-9_.+-]{0,63}$")
_FREE_TEXT_EVENTS = frozenset({"keep.log"})


class HostChannel:
    """Writes host-channel events to a text stream and/or a callback (the store's events file).

    Args:
        stream: where lines go (``sealog run`` uses its stderr), or None.
        record: also called with each event (the store keeps what the host saw), or None.
        session: the session id added to every event.
        clock: wall clock for the ``time`` field.
    """

    def __init__(
        self,
        stream: TextIO | None,
        *,
        record: Callable[[dict[str, Any]], None] | None = None,
        session: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._stream = stream
        self._record = record
        self.session = session
        self._clock = clock
        self._lock = threading.Lock()

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
        obj = {"event": event, "time": round(self._clock(), 3), **fields}
        line = json.dumps(obj, sort_keys=True, separators=(",", ":"))
        with self._lock:
            if self._stream is not None:
                self._stream.write(line + "\n")
                self._stream.flush()
            if self._record is not None:
                self._record(obj)
