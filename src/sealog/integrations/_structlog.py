"""structlog: a renderer that hands each event to sealog instead of printing it."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, NoReturn

import structlog

from sealog.integrations._bridge import hand_over
from sealog.keep._lines import WORDS
from sealog.keep._shape import ExcInfo

__all__ = ["SealogRenderer"]

#: Keys structlog's own processors add that the record carries elsewhere.
_CONSUMED = ("event", "level", "logger", "exc_info", "timestamp")


def _exc_info(value: Any) -> ExcInfo | None:
    if value is None or value is False:
        return None
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if isinstance(value, tuple) and len(value) == 3 and value[0] is not None:
        return (value[0], value[1], value[2])
    if value is True:
        current = sys.exc_info()
        if current[0] is not None and current[1] is not None:
            return (current[0], current[1], current[2])
    return None


class SealogRenderer:
    """The last processor of a structlog chain: hands each event to sealog as a record.

    The event's level (from ``add_log_level``, or the method called), its ``event`` as the
    message, ``logger`` (from ``add_logger_name``, else ``logger_name``) as the logger,
    ``exc_info`` as a real exception with its frames, and every other key as a field. Nothing
    is printed: under ``sealog run`` a printed copy would be captured a second time. Leave
    ``format_exc_info`` out of the chain: it turns the exception into text, of which only the
    last line (type and message) is then kept.

    Example:
        >>> import structlog
        >>> from sealog.integrations import SealogRenderer
        >>> structlog.configure(processors=[
        ...     structlog.contextvars.merge_contextvars,
        ...     structlog.processors.add_log_level,
        ...     structlog.processors.StackInfoRenderer(),
        ...     structlog.dev.set_exc_info,
        ...     SealogRenderer(),
        ... ])

    Args:
        logger_name: the records' logger when the event names none.
    """

    def __init__(self, logger_name: str = "structlog") -> None:
        self._name = logger_name

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> NoReturn:
        level_name = event_dict.get("level") or method_name
        level = WORDS.get(str(level_name).lower(), logging.INFO)
        name = event_dict.get("logger") or getattr(logger, "name", None) or self._name
        fields = {k: v for k, v in event_dict.items() if k not in _CONSUMED}
        rendered = fields.get("exception")
        if isinstance(rendered, str) and "\n" in rendered:
            # format_exc_info ran first and turned the exception into text, source lines and
            # all, which the profile's traceback mode could not govern: keep its last line only.
            fields["exception"] = rendered.rstrip().rsplit("\n", 1)[-1]
        hand_over(
            level,
            str(name),
            str(event_dict.get("event", "")),
            fields,
            _exc_info(event_dict.get("exc_info")),
            origin="(structlog)",
        )
        raise structlog.DropEvent
