"""Trust roots from PEM files, sorted into what appraisal needs: AMD chains and TDX roots."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cryptography import x509

from sealog.errors import FormatError

__all__ = ["load_trust_roots"]


def load_trust_roots(paths: Iterable[Path]) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """Read PEM files given as trust roots: an AMD ASK+ARK chain (two certificates, SEV-SNP)
    or one root CA (TDX).

    Args:
        paths: the PEM files.

    Returns:
        ``(snp_chains, tdx_roots)``, ready for :class:`AppraisalPolicy`.

    Raises:
        FormatError: a file cannot be read or holds no PEM certificate.
    """
    snp_chains: list[bytes] = []
    tdx_roots: list[bytes] = []
    for path in paths:
        try:
            pem = Path(path).read_bytes()
        except OSError as exc:
            raise FormatError(f"{path}: cannot read ({exc.strerror})") from exc
        try:
            certs = x509.load_pem_x509_certificates(pem)
        except ValueError as exc:
            raise FormatError(f"{path}: not a PEM certificate file") from exc
        # An AMD chain is the ASK then the ARK; a TDX trust root is one self-signed CA.
        (snp_chains if len(certs) >= 2 else tdx_roots).append(pem)
    return tuple(snp_chains), tuple(tdx_roots)
