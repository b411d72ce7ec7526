"""Helpers for users' tests: see what your code logs as the owner would read it.

Example:
    >>> import logging, sealog.testing
    >>> with sealog.testing.capture_records("production") as captured:
    ...     logging.getLogger("app").warning("token %s", sealog.secret("s3cr3t"))
    >>> captured.records[0].message
    'token [secret]'
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sealog.keep._handler import SealogHandler
from sealog.keep._shape import Shaper
from sealog.profile import Profile, resolve_profile
from sealog.seal._records import Record
from sealog.seal._row import Row

if TYPE_CHECKING:
    import loguru

__all__ = ["Captured", "capture_lines", "capture_loguru", "capture_records", "capture_structlog"]


@dataclass
class Captured:
    """What a :func:`capture_records` block logged.

    Attributes:
        records: records as they would be sealed to the owner (after level, redaction, secrets
            and traceback rules of the profile).
        host_events: host-channel events the same logging would produce.
        ring: records that would only be kept in the flight recorder.
    """

    records: list[Record] = field(default_factory=list)
    host_events: list[dict[str, Any]] = field(default_factory=list)
    ring: list[Record] = field(default_factory=list)

    def messages(self) -> list[str]:
        """The messages of :attr:`records`, in order."""
        return [r.message for r in self.records]


class _Sink:
    def __init__(self, shaper: Shaper, out: list[Record]) -> None:
        self._shaper = shaper
        self._out = out

    def submit(self, row: Row) -> None:
        shaped = self._shaper.shape(row)
        if shaped is not None:
            self._out.append(Record.from_row(shaped))


class _Host:
    def __init__(self, out: list[dict[str, Any]]) -> None:
        self._out = out

    def emit(self, event: str, **fields: Any) -> None:
        self._out.append({"event": event, **fields})

    def log(self, level: str, logger: str, message: str) -> None:
        self.emit("keep.log", level=level, logger=logger, message=message)


@contextmanager
def capture_records(
    profile: Profile | str = "production", logger: logging.Logger | None = None
) -> Iterator[Captured]:
    """Capture what the code inside the block logs, shaped by ``profile``.

    Args:
        profile: a profile, or a built-in name or TOML file.
        logger: the logger to attach to (default: the root logger).
    """
    prof = profile if isinstance(profile, Profile) else resolve_profile(profile)
    captured = Captured()
    handler = SealogHandler(
        _Sink(Shaper(prof.owner), captured.records), prof, host=_Host(captured.host_events)
    )
    target = logger or logging.getLogger()
    old_level = target.level
    target.addHandler(handler)
    target.setLevel(handler.threshold)
    try:
        yield captured
    finally:
        target.removeHandler(handler)
        target.setLevel(old_level)
        captured.ring.extend(Record.from_row(r) for r in handler.ring_rows())


@contextmanager
def capture_structlog(profile: Profile | str = "production") -> Iterator[Captured]:
    """Capture what structlog logs inside the block, handed over natively and shaped by
    ``profile``.

    The configured processor chain is kept, except that its last processor (the renderer) is
    replaced by :class:`sealog.integrations.SealogRenderer` for the block.

    Args:
        profile: a profile, or a built-in name or TOML file.
    """
    import structlog  # noqa: PLC0415 - structlog is optional

    from sealog.integrations import SealogRenderer  # noqa: PLC0415

    # The configured list is changed in place, as structlog.testing.capture_logs does, so that
    # loggers bound before the block (which share the list) hand over too.
    processors = structlog.get_config()["processors"]
    saved = list(processors)
    processors[-1:] = [SealogRenderer()]
    try:
        with capture_records(profile) as captured:
            yield captured
    finally:
        processors[:] = saved


@contextmanager
def capture_loguru(
    profile: Profile | str = "production", logger: loguru.Logger | None = None
) -> Iterator[Captured]:
    """Capture what loguru logs inside the block, handed over natively and shaped by
    ``profile``.

    Args:
        profile: a profile, or a built-in name or TOML file.
        logger: the loguru logger (default: ``loguru.logger``).
    """
    from loguru import logger as default  # noqa: PLC0415 - loguru is optional

    from sealog.integrations import loguru_sink  # noqa: PLC0415

    target = logger or default
    with capture_records(profile) as captured:
        sink = target.add(loguru_sink, level=0)
        try:
            yield captured
        finally:
            target.remove(sink)


def capture_lines(
    lines: str | list[str], stream: str = "stderr", profile: Profile | str = "production"
) -> Captured:
    """What the owner would get from a program printing ``lines`` on ``stream`` under
    ``sealog run``: levels, fields and groups as the runtime reads them, then the profile's
    rules. Useful to check a profile's ``[[lines.patterns]]`` against a program's output.

    Args:
        lines: the output, as one text or as lines.
        stream: ``stdout`` or ``stderr``.
        profile: a profile, or a built-in name or TOML file.
    """
    from sealog.keep._lines import LineReader, LineRules  # noqa: PLC0415

    prof = profile if isinstance(profile, Profile) else resolve_profile(profile)
    default = prof.lines.stdout if stream == "stdout" else prof.lines.stderr
    reader = LineReader(stream, LineRules(prof.lines), default=default)
    captured = Captured()
    sink = _Sink(Shaper(prof.owner), captured.records)
    for line in lines.splitlines() if isinstance(lines, str) else lines:
        reader.feed(line, sink.submit)
    reader.flush(sink.submit)
    return captured
