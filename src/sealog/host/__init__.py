"""The host's side: the store that relays and keeps sealed sessions."""

from sealog.host._store import SessionFile, Store

__all__ = ["SessionFile", "Store"]
