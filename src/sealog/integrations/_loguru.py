"""loguru: a sink that hands each record to sealog."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sealog.integrations._bridge import hand_over, standard_level

if TYPE_CHECKING:
    import loguru

__all__ = ["loguru_sink"]


def loguru_sink(message: loguru.Message) -> None:
    """A loguru sink: each record reaches sealog with its level, fields and exception.

    The record's ``message`` (without loguru's format), its module as the logger, ``extra``
    (from ``bind()`` and ``contextualize()``) as fields, and its exception with the real
    frames; loguru's levels map to the stdlib level at or below them (TRACE is DEBUG, SUCCESS
    is INFO). Use it in place of the default stderr sink, whose copy would be captured again::

        from loguru import logger
        from sealog.integrations import loguru_sink

        logger.remove()
        logger.add(loguru_sink, level="DEBUG")

    Args:
        message: what loguru hands a sink (its ``record`` is read, the text is not).
    """
    record = message.record
    exc = record["exception"]
    exc_info = None
    if exc is not None and exc.type is not None and exc.value is not None:
        exc_info = (exc.type, exc.value, exc.traceback)
    hand_over(
        standard_level(record["level"].no),
        record["name"] or "loguru",
        record["message"],
        {**record["extra"], "function": record["function"], "line": record["line"]},
        exc_info,
        created=record["time"].timestamp(),
        origin="(loguru)",
    )
