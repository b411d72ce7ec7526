"""The host's side: the store that relays and keeps sealed sessions, what the host sees, and the
relay that ships sessions to NATS JetStream.

The relay's modules (and ``asyncio``) and the host's view load on first use of their names, so
a Keep writing to a folder does not pay for them at start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sealog.host._nats import NatsTarget, StreamLimits, is_nats, limits_from_options
from sealog.host._open import open_store
from sealog.host._store import SessionFile, Store

if TYPE_CHECKING:
    from sealog.host._relay import NatsSink, RelayStats, relay_store, run_relay
    from sealog.host._view import HostView, SessionView, host_view

__all__ = [
    "HostView",
    "NatsSink",
    "NatsTarget",
    "RelayStats",
    "SessionFile",
    "SessionView",
    "Store",
    "StreamLimits",
    "host_view",
    "is_nats",
    "limits_from_options",
    "open_store",
    "relay_store",
    "run_relay",
]

_RELAY = frozenset({"NatsSink", "RelayStats", "relay_store", "run_relay"})
_VIEW = frozenset({"HostView", "SessionView", "host_view"})


def __getattr__(name: str) -> Any:
    if name in _RELAY:
        from sealog.host import _relay  # noqa: PLC0415 - asyncio and the relay load on demand

        return getattr(_relay, name)
    if name in _VIEW:
        from sealog.host import _view  # noqa: PLC0415 - the owner's and the host's reading

        return getattr(_view, name)
    raise AttributeError(f"module 'sealog.host' has no attribute {name!r}")
