"""sealog: sealed, policy-controlled logging for Confidential Computing workloads.

Importing ``sealog`` needs only the standard library (it is imported inside workloads);
:func:`open_session` loads the cryptography on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sealog.errors import (
    AttestationError,
    AttestationUnavailable,
    DecryptionError,
    Error,
    FormatError,
    PolicyError,
    TruncatedError,
    VerificationError,
)
from sealog.keep._handler import SealogHandler
from sealog.keep._secret import Secret, secret

if TYPE_CHECKING:
    from sealog._api import Session, open_session

__version__ = "0.1.0"

__all__ = [
    "AttestationError",
    "AttestationUnavailable",
    "DecryptionError",
    "Error",
    "FormatError",
    "PolicyError",
    "SealogHandler",
    "Secret",
    "Session",
    "TruncatedError",
    "VerificationError",
    "__version__",
    "open_session",
    "secret",
]


def __getattr__(name: str) -> Any:
    if name in ("open_session", "Session"):
        from sealog import _api  # noqa: PLC0415 - keeps `import sealog` free of cryptography

        return getattr(_api, name)
    raise AttributeError(f"module 'sealog' has no attribute {name!r}")
