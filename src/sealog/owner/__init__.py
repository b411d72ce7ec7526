"""The owner's side: read, verify, and what the host can see."""

from sealog.owner._reader import INTACT, SessionReader, Verdict
from sealog.owner._store_ops import HostView, SessionView, host_view, read_store, verify_store
from sealog.owner._timeline import ProfileSpan
from sealog.seal._keys import OwnerPrivateKey

__all__ = [
    "INTACT",
    "HostView",
    "OwnerPrivateKey",
    "ProfileSpan",
    "SessionReader",
    "SessionView",
    "Verdict",
    "host_view",
    "read_store",
    "verify_store",
]
