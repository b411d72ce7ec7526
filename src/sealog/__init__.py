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

if TYPE_CHECKING:
    from sealog.keep._handler import SealogHandler
    from sealog.keep._secret import Secret, secret
    __version__: str
    from sealog._api import RunResult, Session, open_session, run_keep


__all__ = [
    "AttestationError",
    "AttestationUnavailable",
    "DecryptionError",
    "Error",
    "FormatError",
    "PolicyError",
    "RunResult",
    "SealogHandler",
    "Secret",
    "Session",
    "TruncatedError",
    "VerificationError",
    "__version__",
    "open_session",
    "run_keep",
    "secret",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        # Defined once, in pyproject.toml; the installed metadata carries it (read on demand:
        # importlib.metadata is slow to import, and workloads import sealog at start).
        from importlib import metadata  # noqa: PLC0415

        try:
            return metadata.version("sealog")
        except metadata.PackageNotFoundError:  # pragma: no cover - an uninstalled tree
            return "0+unknown"
    if name in ("SealogHandler", "Secret", "secret"):
        # The Keep's handler loads the profiles: the owner's commands, which import sealog
        # too, start without them.
        from sealog.keep import _handler, _secret  # noqa: PLC0415

        return getattr(_handler if name == "SealogHandler" else _secret, name)
    if name in ("open_session", "run_keep", "RunResult", "Session"):
        from sealog import _api  # noqa: PLC0415 - keeps `import sealog` free of cryptography

        return getattr(_api, name)
    raise AttributeError(f"module 'sealog' has no attribute {name!r}")
