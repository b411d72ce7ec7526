"""Certificates for the verifiers: loading them without noise, and checking one link of a chain.

AMD signs its SEV-SNP certificates (ARK, ASK, VCEK) with RSASSA-PSS over SHA-384; Intel signs
the SGX/TDX PCK chain with ECDSA P-256 over SHA-256. Both are checked here with ``cryptography``
only, offline, against trust roots the caller supplies.
"""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Iterable

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import SignatureAlgorithmOID

from sealog.errors import AttestationError, FormatError

__all__ = [
    "check_link",
    "check_validity",
    "load_certificate",
    "load_pem_chain",
    "same_certificate",
]


def load_certificate(data: bytes, what: str) -> x509.Certificate:
    """Load one certificate given as DER or PEM.

    The real AMD VCEK has serial number 0, which RFC 5280 forbids and ``cryptography`` warns
    about when loading it. The certificate is still what AMD ships and what its ASK signs, so
    the warning is silenced here (and only here) rather than printed at every CLI user.

    Args:
        data: the certificate in DER or PEM.
        what: a name for messages ("VCEK certificate").

    Raises:
        FormatError: the bytes are not a certificate.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if data.lstrip().startswith(b"-----BEGIN"):
                return x509.load_pem_x509_certificate(data)
            return x509.load_der_x509_certificate(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise FormatError(f"{what}: not a DER or PEM X.509 certificate ({exc})") from exc


def load_pem_chain(data: bytes, what: str) -> list[x509.Certificate]:
    """Load every certificate of a PEM bundle, in file order.

    Raises:
        FormatError: no certificate, or a malformed one.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            certs = x509.load_pem_x509_certificates(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise FormatError(f"{what}: not a PEM certificate bundle ({exc})") from exc
    if not certs:
        raise FormatError(f"{what}: no certificate found")
    return certs


def check_validity(cert: x509.Certificate, what: str, now: datetime.datetime) -> None:
    """Refuse a certificate outside its validity window at ``now``.

    Raises:
        AttestationError: expired or not yet valid.
    """
    if now < cert.not_valid_before_utc:
        raise AttestationError(f"{what} is not valid before {cert.not_valid_before_utc:%Y-%m-%d}")
    if now > cert.not_valid_after_utc:
        raise AttestationError(f"{what} expired on {cert.not_valid_after_utc:%Y-%m-%d}")


def check_link(child: x509.Certificate, issuer: x509.Certificate, message: str) -> None:
    """Check that ``issuer`` signed ``child`` and is named as its issuer.

    RSASSA-PSS is accepted only with SHA-384, MGF1-SHA-384 and a 48-byte salt (AMD's profile);
    ECDSA only with SHA-256 or SHA-384 (Intel's). Anything else is refused rather than
    negotiated, so a chain cannot be downgraded to a weaker scheme.

    Args:
        child: the certificate whose signature is checked.
        issuer: the certificate that must have signed it.
        message: the whole error message on failure ("VCEK is not signed by the ASK").

    Raises:
        AttestationError: with ``message``, when the name or the signature does not match.
    """
    try:
        # Names and keys are parsed lazily: a damaged certificate fails here, not at load.
        names_differ = child.issuer != issuer.subject
        key = issuer.public_key()
        oid = child.signature_algorithm_oid
    except ValueError as exc:
        raise AttestationError(f"{message} (certificate is malformed: {exc})") from exc
    if names_differ:
        raise AttestationError(f"{message} (issuer name differs)")
    try:
        if oid == SignatureAlgorithmOID.RSASSA_PSS and isinstance(key, rsa.RSAPublicKey):
            params = child.signature_algorithm_parameters
            if not (
                isinstance(params, padding.PSS)
                and isinstance(child.signature_hash_algorithm, hashes.SHA384)
            ):
                raise AttestationError(f"{message} (unexpected RSASSA-PSS parameters)")
            key.verify(
                child.signature,
                child.tbs_certificate_bytes,
                padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48),
                hashes.SHA384(),
            )
        elif oid in _ECDSA and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(child.signature, child.tbs_certificate_bytes, ec.ECDSA(_ECDSA[oid]))
        else:
            raise AttestationError(
                f"{message} (unsupported signature algorithm {oid.dotted_string})"
            )
    except InvalidSignature as exc:
        raise AttestationError(message) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise AttestationError(f"{message} ({exc})") from exc


_ECDSA: dict[x509.ObjectIdentifier, hashes.HashAlgorithm] = {
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: hashes.SHA256(),
    SignatureAlgorithmOID.ECDSA_WITH_SHA384: hashes.SHA384(),
}


def same_certificate(a: x509.Certificate, others: Iterable[x509.Certificate]) -> bool:
    """Whether ``a`` is byte-for-byte one of ``others`` (trust anchors are pinned exactly)."""
    return any(a == other for other in others)
