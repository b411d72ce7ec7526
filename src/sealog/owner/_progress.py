"""A progress bar for long work (verify, diff), shown only on a terminal and only when slow.

Work that ends within a second shows nothing; output that is not a terminal never gets a bar
(scripts and log files see exactly what they saw before).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["ProgressBar", "ProgressCallback"]

#: ``callback(done, total)``: bytes of sealed data processed so far, of ``total``.
ProgressCallback = Callable[[int, int], None]


class ProgressBar:
    """A rich progress bar on ``stream`` that appears once the work has lasted ``delay`` s.

    Use as a context manager; pass :meth:`update` as the ``progress`` callback of
    :func:`~sealog.owner.verify_store` or :func:`~sealog.owner.diff_stores`.

    Args:
        description: what is being done ("verifying").
        stream: where to draw (standard error by default); nothing is drawn unless it is a
            terminal.
        delay: seconds of work before the bar appears.
        clock: the time source (injected by tests).
        force_terminal: draw (True) or never draw (False) whatever the stream is.
    """

    def __init__(
        self,
        description: str,
        stream: TextIO | None = None,
        *,
        delay: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        force_terminal: bool | None = None,
    ) -> None:
        self._stream = stream
        self._force = force_terminal
        self._description = description
        self._delay = delay
        self._clock = clock
        self._started = clock()
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    @property
    def enabled(self) -> bool:
        """Whether a bar may be drawn at all: the stream is a terminal (or forced)."""
        if self._force is not None:
            return self._force
        stream = self._stream if self._stream is not None else sys.stderr
        try:
            return stream.isatty()
        except (AttributeError, ValueError):
            return False

    @property
    def shown(self) -> bool:
        """Whether the bar has appeared."""
        return self._progress is not None

    def update(self, done: int, total: int) -> None:
        """Report ``done`` of ``total``; draws the bar once the work is slow enough."""
        if self._progress is None:
            if not self.enabled or self._clock() - self._started < self._delay:
                return
            # rich loads only when a bar is drawn: piped output never pays for it.
            from rich.console import Console  # noqa: PLC0415
            from rich.progress import (  # noqa: PLC0415
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            console = Console(file=self._stream, stderr=self._stream is None, force_terminal=True)
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=total)
        if self._task is not None:
            self._progress.update(self._task, completed=done, total=total)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
