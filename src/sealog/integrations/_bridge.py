"""One record from another logging library, handed to stdlib logging as a structured record.

Going through ``logging.getLogger(name).handle()`` rather than straight to a sealed session
means one path for every record: whatever handler the Keep installed (and the logger levels it
set) decides, exactly as for a ``logging`` call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sealog.keep._shape import ExcInfo

__all__ = ["hand_over", "standard_level"]

#: LogRecord attributes a field must not overwrite; such a field keeps a trailing underscore.
_RESERVED = frozenset(
    logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__.keys() | {"message", "asctime"}
)


def standard_level(number: int) -> int:
    """The stdlib level at or below ``number`` (loguru's TRACE 5 is DEBUG, SUCCESS 25 INFO)."""
    for level in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO):
        if number >= level:
            return level
    return logging.DEBUG


def hand_over(
    level: int,
    logger: str,
    message: str,
    fields: Mapping[str, Any] | None,
    exc_info: ExcInfo | None,
    *,
    created: float | None = None,
    origin: str,
) -> None:
    """Hand one record to ``logging.getLogger(logger)``, if that logger is enabled for it.

    Args:
        level: the stdlib level.
        logger: the logger's name.
        message: the rendered message (never formatted again).
        fields: the record's fields, kept as extra fields.
        exc_info: the exception, or None.
        created: when the record was made (default: now).
        origin: the library, shown as the record's path name.
    """
    target = logging.getLogger(logger)
    if not target.isEnabledFor(level):
        return
    record = logging.LogRecord(logger, level, origin, 0, message, None, exc_info)
    if created is not None:
        record.created = created
    if fields:
        attrs = record.__dict__
        for key, value in fields.items():
            name = str(key)
            attrs[name + "_" if name in _RESERVED else name] = value
    target.handle(record)
