"""The owner's side: read, verify, and what the host can see."""

from sealog.owner._diff import DiffResult, diff_sessions
from sealog.owner._reader import INTACT, SessionReader, Verdict
from sealog.owner._store_ops import read_store, verify_store
from sealog.owner._timeline import ProfileSpan
from sealog.seal._keys import OwnerPrivateKey

__all__ = [
    "INTACT",
    "DiffResult",
    "OwnerPrivateKey",
    "ProfileSpan",
    "SessionReader",
    "Verdict",
    "diff_sessions",
    "read_store",
    "verify_store",
]
