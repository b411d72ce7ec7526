"""sealog: sealed, policy-controlled logging for Confidential Computing workloads."""

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

__version__ = "0.1.0"

__all__ = [
    "AttestationError",
    "AttestationUnavailable",
    "DecryptionError",
    "Error",
    "FormatError",
    "PolicyError",
    "TruncatedError",
    "VerificationError",
    "__version__",
]
