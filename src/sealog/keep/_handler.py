"""The stdlib logging handler that applies a profile inside the Keep.

Standard library only (it runs inside workload interpreters too).
"""

from __future__ import annotations

import collections
import logging
from typing import Protocol

from sealog.keep._host_rules import HostEvents, HostRules
from sealog.keep._shape import row_from_record
from sealog.profile._model import Profile
from sealog.seal._row import Row

__all__ = ["RowSink", "SealogHandler"]


class RowSink(Protocol):
    """Takes rows: a sealed session in-process, or the pipe to the runtime under ``sealog run``."""

    def submit(self, row: Row) -> None:
        """Hand one row over (must be cheap and thread-safe)."""


class SealogHandler(logging.Handler):
    """Hands records to the sealer, shaped by a profile.

    * records at or above the owner's level become rows (captured now, sealed later);
    * under a profile with a flight recorder, more verbose records are kept in a bounded ring
      inside the Keep (the stdlib record itself: rendering waits until the ring is asked for);
    * the host sees plain lines only under a development profile, a generic ``keep.error``
      event under ``events+codes``, and nothing under ``events``.

    Args:
        sink: where rows go.
        profile: the profile in force.
        host: the host channel, or None.
        source: the source of records from this handler.
    """

    def __init__(
        self,
        sink: RowSink,
        profile: Profile,
        *,
        host: HostEvents | None = None,
        source: str = "workload",
    ) -> None:
        super().__init__(logging.NOTSET)
        self._sink = sink
        self._host = host
        self._source = source
        self.ring: collections.deque[logging.LogRecord] = collections.deque(maxlen=0)
        self.apply_profile(profile)

    def apply_profile(self, profile: Profile) -> None:
        """Switch to ``profile`` (a change order, or its expiry)."""
        self.profile = profile
        self._owner_min = profile.owner.min_level
        self._reveal = profile.reveal_secrets
        self._locals = profile.reveal_secrets  # local variables only where secrets may show
        self._ring_min = profile.ring.min_level if profile.ring else logging.CRITICAL + 1
        if self.ring.maxlen != profile.ring_records:
            self.ring = collections.deque(self.ring, maxlen=profile.ring_records)
        old = getattr(self, "host_rules", None)
        if old is not None:
            old.flush()
        self.host_rules = HostRules(profile, seal=self._sink.submit)
        # Without a host channel (inside a workload under ``sealog run``, where the runtime
        # speaks to the host) no record is kept back for it.
        self._host_min = self.host_rules.min_level if self._host is not None else 1 << 30
        levels = [self._owner_min, self._ring_min, self._host_min]
        self.level = min(levels)

    @property
    def threshold(self) -> int:
        """The lowest level any destination wants: what the logger's level should be."""
        return self.level

    def handle(self, record: logging.LogRecord) -> bool:
        # The stdlib takes a per-handler lock around emit(); every step below is thread-safe
        # on its own (deque appends, a locked sink), so the lock would only cost time.
        if self.filters and not self.filter(record):
            return False
        if self._owner_min <= record.levelno < self._host_min:
            # The common case written out (one call less per record): sealed, nothing else.
            try:
                self._sink.submit(row_from_record(record, self._source, self._reveal, self._locals))
            except Exception:
                self.handleError(record)
            return True
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        """Route one record."""
        try:
            level = record.levelno
            row = None
            if level >= self._owner_min:
                # Positional: keyword passing costs a tenth of a microsecond per record here.
                row = row_from_record(record, self._source, self._reveal, self._locals)
                self._sink.submit(row)
            elif level >= self._ring_min:
                self.ring.append(record)
            if level >= self._host_min and self._host is not None:
                if row is None:
                    row = row_from_record(record, source=self._source, reveal_secrets=self._reveal)
                self.host_rules.tell(row, self._host)
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        """Seal the count of host events the host rate limit held back (at session end)."""
        self.host_rules.flush()

    def ring_rows(self) -> list[Row]:
        """Render and empty the flight recorder (for an approved order)."""
        records = list(self.ring)
        self.ring.clear()
        return [
            row_from_record(r, source=self._source, reveal_secrets=self._reveal) for r in records
        ]
