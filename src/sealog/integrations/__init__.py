"""Native integrations: structlog and loguru hand their records to sealog, no text parsing.

Records keep their level, logger, message, fields and exception, and go through the same
logging handler as stdlib records (under ``sealog run`` the one installed in the workload's
interpreter; in-process the one :func:`sealog.open_session` installs): the profile's levels,
redaction, traceback mode and flight recorder apply to them as to any record.

* structlog: put :class:`SealogRenderer` last in the processor chain
  (``pip install sealog[structlog]``);
* loguru: ``logger.add(sealog.integrations.loguru_sink)`` (``pip install sealog[loguru]``).

Each library is imported only when its integration is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sealog.integrations._loguru import loguru_sink
    from sealog.integrations._structlog import SealogRenderer

__all__ = ["SealogRenderer", "loguru_sink"]


def __getattr__(name: str) -> Any:
    if name == "SealogRenderer":
        from sealog.integrations import _structlog  # noqa: PLC0415 - structlog is optional

        return _structlog.SealogRenderer
    if name == "loguru_sink":
        from sealog.integrations import _loguru  # noqa: PLC0415 - loguru is optional

        return _loguru.loguru_sink
    raise AttributeError(f"module 'sealog.integrations' has no attribute {name!r}")
