"""What the host channel may say about records: one object, used in-process and by ``sealog run``.

A profile's ``host`` setting picks what leaves in clear, and its ``[host_rules]`` table says for
which records and how much:

* ``events``: nothing, whatever the record (lifecycle events are the runner's business);
* ``events+codes``: a generic ``keep.error`` code for records at ``min_level`` and above from the
  allowed ``sources``, at most ``rate_limit`` per second;
* ``records`` (development only): a ``keep.log`` line per record, shaped by every host rule
  (level, sources, redaction, traceback mode, rate limit).

What the rate limit holds back is counted, and the count is sealed to the owner (a ``sealog``
record), never told to the host: the number of errors is exactly what a limit must not leak.

Standard library only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from sealog.keep._shape import RateLimit, Shaper
from sealog.profile._model import HostClear, Profile
from sealog.seal._row import LEVEL_MAX, Row, make_row
from sealog.seal._vocabulary import SESSION_LOGGER

__all__ = ["HostEvents", "HostRules"]


class HostEvents(Protocol):
    """What the rules need of a host channel (:class:`~sealog.keep.HostChannel` has both)."""

    def emit(self, event: str, **fields: Any) -> None:
        """Write one vocabulary event."""

    def log(self, level: str, logger: str, message: str) -> None:
        """Write one ``keep.log`` line (``host = "records"`` only)."""



class HostRules:
    """Decides, record by record, what the host channel carries under one profile.

    Args:
        profile: the profile in force.
        seal: where the count of held-back events goes (a row sealed to the owner).
    """

    def __init__(self, profile: Profile, seal: Callable[[Row], None] | None = None) -> None:
        self.mode = profile.host
        rules = profile.host_rules
        #: Records below this level never reach the host: the handler's cheap first check.
        self.min_level = rules.min_level if self.mode is not HostClear.EVENTS else LEVEL_MAX + 1
        self._sources = frozenset(rules.sources)
        self._shaper = Shaper(rules) if self.mode is HostClear.RECORDS else None
        # Development's rules redact nothing and limit nothing: each record's line is made from
        # the row itself, without a call to the shaper (this runs once per record).
        self._as_is = self._shaper is not None and self._shaper.keeps_plain_rows
        self._limit = RateLimit(rules.rate_limit)
        self._seal = seal
        self.held_back = 0

    def tell(self, row: Row, host: HostEvents) -> None:
        """Tell the host what the rules let it know of ``row``, if anything."""
        if row[1] < self.min_level or row[2] not in self._sources:
            return
        shaper = self._shaper
        if shaper is not None:
            shaped = row if self._as_is and row[6] is None else shaper.shape(row)
            if shaped is None:
                self.held_back += shaper.limited
                shaper.limited = 0
                return
            self._release()
            host.log(_level_name(shaped[1]), shaped[3], _plain(shaped))
            return
        if not self._limit.allow(row.time):
            self.held_back += 1
            return
        self._release()
        host.emit("keep.error", code="workload.error")

    def line(self, row: Row) -> str | None:
        """The clear copy of a captured output line (``records`` only), shaped by the rules; a
        traceback or panic read from several lines is shown with its frames."""
        if self._shaper is None or row.level < self.min_level:
            return None
        shaped = self._shaper.shape(row)
        if shaped is None:
            self.held_back += self._shaper.limited
            self._shaper.limited = 0
            return None
        return _plain(shaped)

    def _release(self) -> None:
        if self.held_back:
            self.flush()

    def flush(self) -> None:
        """Seal the count of events held back since the last flush (at the end of a session)."""
        count, self.held_back = self.held_back, 0
        if count and self._seal is not None:
            self._seal(
                make_row(
                    time.time(),
                    30,
                    "sealog",
                    SESSION_LOGGER,
                    f"{count} host-channel events held back by the host rate limit",
                    None,
                    None,
                    {"host_held_back": count},
                )
            )


_LEVEL_NAMES = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}


def _level_name(level: int) -> str:
    name = _LEVEL_NAMES.get(level)
    return f"Level {level}" if name is None else name


def _plain(row: Row) -> str:
    exc = row.exception
    if exc is None:
        return row.message
    lines = [row.message]
    for file, line, func, src in exc.get("frames", []):
        lines.append(f'  File "{file}", line {line}, in {func}')
        if src:
            lines.append(f"    {src}")
    message = exc.get("message")
    lines.append(exc["type"] if message is None else f"{exc['type']}: {message}")
    return "\n".join(lines)
