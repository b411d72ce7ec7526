"""The host's side: the store that relays and keeps sealed sessions, and what the host sees."""

from sealog.host._store import SessionFile, Store
from sealog.host._view import HostView, SessionView, host_view

__all__ = ["HostView", "SessionFile", "SessionView", "Store", "host_view"]
