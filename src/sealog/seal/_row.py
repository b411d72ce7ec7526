"""The record row: one log record as it travels inside the Keep and inside sealed batches.

    row = (time, level, source, logger, message, template, exception, fields)

A row is a :class:`Row` (a named tuple: positional, so it encodes as a JSON array and costs
no more than a list to build and read, with names for every slot). Rows cross one trust
boundary inside the Keep, the record channel from the workload's interpreter to the runtime:
there :meth:`Row.from_workload` checks every slot and re-stamps the source, so a workload can
neither crash the runtime with a malformed row nor pass its rows off as the runtime's own.

Standard library only: the workload half of the runtime builds rows too.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from sealog.errors import FormatError
from sealog.seal._vocabulary import TRACE_LOGGER

__all__ = ["LEVEL_MAX", "Row", "make_row"]

#: The highest level number a row may carry (stdlib CRITICAL is 50; custom levels go above).
LEVEL_MAX = 1000
#: Longest logger name accepted from a workload.
_MAX_LOGGER = 256


class Row(NamedTuple):
    """One record row.

    Attributes:
        time: seconds since the epoch, from the Keep's clock.
        level: the level number.
        source: ``workload``, ``runtime`` or ``sealog``.
        logger: the logger's name (``stdout``/``stderr`` for captured output).
        message: the rendered message.
        template: the message template before arguments were applied, or None.
        exception: the exception's JSON form (``type``, ``message``, ``frames``), or None.
        fields: extra structured fields, or None.
    """

    time: float
    level: int
    source: str
    logger: str
    message: str
    template: str | None
    exception: dict[str, Any] | None
    fields: dict[str, Any] | None

    @classmethod
    def from_workload(cls, value: object) -> Row:
        """Check a row that arrived from the workload and re-stamp its source.

        The source becomes ``workload``, except trace rows (logger ``sealog.trace``, which the
        audit hook writes on the runtime's behalf inside the workload's interpreter), which
        stay ``runtime``; ``sealog`` (the runtime's own proof records) is never accepted.

        Raises:
            FormatError: not a row of eight slots with values of the right types.
        """
        if not isinstance(value, list | tuple) or len(value) != 8:
            raise FormatError("row: expected 8 slots")
        t, level, source, logger, message, template, exc, fields = value
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            raise FormatError("row: time is not a finite number")
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= LEVEL_MAX:
            raise FormatError(f"row: level is not a number from 0 to {LEVEL_MAX}")
        if not isinstance(logger, str) or len(logger) > _MAX_LOGGER:
            raise FormatError("row: logger is not a name")
        if not isinstance(message, str):
            raise FormatError("row: message is not text")
        if template is not None and not isinstance(template, str):
            raise FormatError("row: template is not text")
        if exc is not None:
            _check_exception(exc)
        if fields is not None and not isinstance(fields, dict):
            raise FormatError("row: fields are not an object")
        stamped = "runtime" if source == "runtime" and logger == TRACE_LOGGER else "workload"
        return _new(cls, (float(t), level, stamped, logger, message, template, exc, fields))


_new = tuple.__new__


def make_row(
    time: float,
    level: int,
    source: str,
    logger: str,
    message: str,
    template: str | None = None,
    exception: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
) -> Row:
    """A row from trusted values, built without the named tuple's keyword machinery (this is
    on the logging hot path)."""
    return _new(Row, (time, level, source, logger, message, template, exception, fields))


def _check_exception(exc: object) -> None:
    if not isinstance(exc, dict) or not isinstance(exc.get("type"), str):
        raise FormatError("row: exception has no type")
    message = exc.get("message")
    if message is not None and not isinstance(message, str):
        raise FormatError("row: exception message is not text")
    frames = exc.get("frames", [])
    if not isinstance(frames, list):
        raise FormatError("row: exception frames are not a list")
    for frame in frames:
        if (
            not isinstance(frame, list)
            or len(frame) != 4
            or not isinstance(frame[0], str)
            or isinstance(frame[1], bool)
            or not isinstance(frame[1], int)
            or not isinstance(frame[2], str)
            or not (frame[3] is None or isinstance(frame[3], str))
        ):
            raise FormatError("row: exception frame is not (file, line, function, source)")
    local_vars = exc.get("locals")
    if local_vars is not None and (
        not isinstance(local_vars, list)
        or not all(
            isinstance(d, dict) and all(isinstance(v, str) for v in d.values()) for d in local_vars
        )
    ):
        raise FormatError("row: exception locals are not text")
