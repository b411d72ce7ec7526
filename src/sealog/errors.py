"""The one exception hierarchy of sealog.

Every failure a caller can act on is a subclass of :class:`Error`, split by cause so that
the command line can map it to an exit code without guessing:

* bad input (a malformed key, profile, order, frame header or a missing file):
  :class:`FormatError`, exit code 2;
* a failed integrity or authenticity check: :class:`VerificationError` and its
  subclasses, exit code 1;
* a refusal by policy (too few approvers, a profile looser than required): :class:`PolicyError`,
  exit code 1;
* an environment that cannot provide something asked for (no TEE device):
  :class:`AttestationUnavailable`, exit code 2.
"""

from __future__ import annotations

__all__ = [
    "AttestationError",
    "AttestationUnavailable",
    "DecryptionError",
    "Error",
    "FormatError",
    "PolicyError",
    "TruncatedError",
    "VerificationError",
]


class Error(Exception):
    """Base class of every error sealog raises on purpose."""

    exit_code = 2


class FormatError(Error):
    """Input that cannot be parsed or used: a malformed or missing file, key, profile or order."""

    exit_code = 2


class VerificationError(Error):
    """An integrity or authenticity check failed: something was modified, dropped or forged."""

    exit_code = 1


class DecryptionError(VerificationError):
    """A sealed frame could not be opened.

    Deliberately carries no detail about which check failed (wrong key, altered ciphertext,
    altered associated data): an attacker must not learn from the difference.
    """


class TruncatedError(VerificationError):
    """A stream ended without its closing frame."""

    def __init__(self, message: str, *, last_seq: int) -> None:
        super().__init__(message)
        self.last_seq = last_seq


class AttestationError(VerificationError):
    """Attestation evidence is invalid, badly signed, or does not bind what it must."""


class PolicyError(Error):
    """An action was refused by policy (profile ladder, control policy, quorum)."""

    exit_code = 1


class AttestationUnavailable(Error):
    """The requested attestation provider cannot run here (not a TEE guest, no permission, busy)."""

    exit_code = 2
