"""The host's side: the store that relays and keeps sealed sessions, what the host sees, and the
relay that ships sessions to NATS JetStream."""

from sealog.host._nats import NatsTarget, StreamLimits, is_nats, limits_from_options
from sealog.host._relay import NatsSink, RelayStats, open_store, relay_store, run_relay
from sealog.host._store import SessionFile, Store
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
