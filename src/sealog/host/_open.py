"""Where new sessions go: a store folder, or a ``nats://`` source published to directly."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sealog.host._nats import NatsTarget, is_nats
from sealog.host._store import Store

if TYPE_CHECKING:
    from sealog.host._relay import NatsSink

__all__ = ["open_store"]


def open_store(store: str | Path) -> Store | NatsSink:
    """A store folder (created if needed), or, for a ``nats://`` source, a
    :class:`~sealog.host.NatsSink` publishing to it. Both give ``new_session(header)``,
    ``append_event(session, event)`` and ``append_event_lines(session, text)``.

    Raises:
        FormatError: a folder that is not a store, a malformed address, no server, or a stream
            whose settings do not fit.
    """
    text = str(store)
    if is_nats(text):
        from sealog.host._relay import NatsSink  # noqa: PLC0415 - asyncio only for NATS

        return NatsSink(NatsTarget.parse(text))
    return Store.create(Path(store))
