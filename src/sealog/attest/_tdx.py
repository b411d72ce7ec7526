"""Intel TDX version 4 quotes (ECDSA P-256 attestation key): parsing and offline verification.

Layout follows Intel's "TDX DCAP Quote Generation Library and Quote Verification Library"
specification, quote format version 4. All integers are little-endian.
"""

from __future__ import annotations

import datetime
import hashlib
import struct
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from sealog.attest._chain import check_link, check_validity, load_pem_chain, same_certificate
from sealog.errors import AttestationError, FormatError

__all__ = [
    "TDX_TEE_TYPE",
    "QeReport",
    "TdReport",
    "TdxHeader",
    "TdxQuote",
    "TdxVerified",
    "looks_like_tdx_quote",
    "verify_tdx_quote",
]

HEADER_SIZE = 48
BODY_SIZE = 584
QE_REPORT_SIZE = 384
#: TEE type of a TD (0x00 would be SGX).
TDX_TEE_TYPE = 0x81
_ATT_KEY_ECDSA_P256 = 2
_CERT_QE_REPORT = 6
_CERT_PCK_CHAIN = 5


@dataclass(frozen=True)
class TdxHeader:
    """The 48-byte quote header."""

    version: int
    attestation_key_type: int
    tee_type: int
    qe_svn: int
    pce_svn: int
    qe_vendor_id: bytes
    user_data: bytes


@dataclass(frozen=True)
class TdReport:
    """The 584-byte TD report body (TDX 1.0)."""

    tee_tcb_svn: bytes
    mr_seam: bytes
    mr_signer_seam: bytes
    seam_attributes: bytes
    td_attributes: bytes
    xfam: bytes
    mr_td: bytes
    mr_config_id: bytes
    mr_owner: bytes
    mr_owner_config: bytes
    rtmr0: bytes
    rtmr1: bytes
    rtmr2: bytes
    rtmr3: bytes
    report_data: bytes

    @property
    def debug(self) -> bool:
        """TD attributes bit 0 (TUD.DEBUG): the host VMM may read and write the TD's state."""
        return bool(self.td_attributes[0] & 1)


@dataclass(frozen=True)
class QeReport:
    """The SGX report of the quoting enclave (384 bytes), fields that matter here."""

    raw: bytes
    cpu_svn: bytes
    attributes: bytes
    mr_enclave: bytes
    mr_signer: bytes
    isv_prod_id: int
    isv_svn: int
    report_data: bytes


@dataclass(frozen=True)
class TdxQuote:
    """A parsed TDX v4 quote. Build it with :meth:`from_bytes`."""

    raw: bytes
    header: TdxHeader
    body: TdReport
    signature: bytes
    attestation_key: bytes
    qe_report: QeReport
    qe_report_signature: bytes
    qe_auth_data: bytes
    pck_chain_pem: bytes

    @classmethod
    def from_bytes(cls, data: bytes) -> TdxQuote:
        """Parse a quote.

        Raises:
            FormatError: truncated, an unsupported version or key type, or malformed
                certification data.
        """
        if len(data) < HEADER_SIZE + BODY_SIZE + 4:
            raise FormatError(f"TDX quote is {len(data)} bytes: too short for a v4 quote")
        version, key_type, tee_type, qe_svn, pce_svn = struct.unpack_from("<HHIHH", data, 0)
        if version != 4:
            raise FormatError(f"TDX quote version {version} is not supported (expected 4)")
        if tee_type != TDX_TEE_TYPE:
            raise FormatError(f"quote TEE type is {tee_type:#x}, expected 0x81 (TDX)")
        if key_type != _ATT_KEY_ECDSA_P256:
            raise FormatError(f"quote attestation key type {key_type} is not ECDSA P-256 (2)")
        header = TdxHeader(version, key_type, tee_type, qe_svn, pce_svn, data[12:28], data[28:48])
        b = data[HEADER_SIZE : HEADER_SIZE + BODY_SIZE]
        cuts = [16, 48, 48, 8, 8, 8, 48, 48, 48, 48, 48, 48, 48, 48, 64]
        parts: list[bytes] = []
        pos = 0
        for size in cuts:
            parts.append(b[pos : pos + size])
            pos += size
        body = TdReport(*parts)
        (sig_len,) = struct.unpack_from("<I", data, HEADER_SIZE + BODY_SIZE)
        start = HEADER_SIZE + BODY_SIZE + 4
        sig = data[start : start + sig_len]
        if len(sig) != sig_len:
            raise FormatError("TDX quote: signature data truncated")
        try:
            return cls._with_signature(data, header, body, sig)
        except (struct.error, IndexError) as exc:
            raise FormatError("TDX quote: certification data truncated") from exc

    @classmethod
    def _with_signature(
        cls, data: bytes, header: TdxHeader, body: TdReport, sig: bytes
    ) -> TdxQuote:
        signature, att_key = sig[0:64], sig[64:128]
        cert_type, cert_size = struct.unpack_from("<HI", sig, 128)
        if cert_type != _CERT_QE_REPORT:
            raise FormatError(f"TDX quote: certification data type {cert_type}, expected 6")
        cert = sig[134 : 134 + cert_size]
        if len(cert) != cert_size:
            raise FormatError("TDX quote: certification data truncated")
        qe_raw = cert[:QE_REPORT_SIZE]
        qe_sig = cert[QE_REPORT_SIZE : QE_REPORT_SIZE + 64]
        (auth_len,) = struct.unpack_from("<H", cert, QE_REPORT_SIZE + 64)
        auth_start = QE_REPORT_SIZE + 66
        auth = cert[auth_start : auth_start + auth_len]
        inner = auth_start + auth_len
        inner_type, inner_size = struct.unpack_from("<HI", cert, inner)
        if inner_type != _CERT_PCK_CHAIN:
            raise FormatError(f"TDX quote: QE certification data type {inner_type}, expected 5")
        chain = cert[inner + 6 : inner + 6 + inner_size]
        if len(chain) != inner_size or len(auth) != auth_len or len(qe_raw) != QE_REPORT_SIZE:
            raise FormatError("TDX quote: certification data truncated")
        isv_prod_id, isv_svn = struct.unpack_from("<HH", qe_raw, 256)
        qe = QeReport(
            raw=qe_raw,
            cpu_svn=qe_raw[0:16],
            attributes=qe_raw[48:64],
            mr_enclave=qe_raw[64:96],
            mr_signer=qe_raw[128:160],
            isv_prod_id=isv_prod_id,
            isv_svn=isv_svn,
            report_data=qe_raw[320:384],
        )
        return cls(
            bytes(data), header, body, signature, att_key, qe, qe_sig, auth, chain.rstrip(b"\0")
        )

    @property
    def signed_bytes(self) -> bytes:
        """Header and TD report body: what the attestation key signs."""
        return self.raw[: HEADER_SIZE + BODY_SIZE]

    @property
    def debug(self) -> bool:
        """Whether the TD runs in debug mode."""
        return self.body.debug


def looks_like_tdx_quote(data: bytes) -> bool:
    """Cheap detection: a version 4 header with TEE type 0x81."""
    return len(data) >= 8 and struct.unpack_from("<HHI", data, 0)[::2] == (4, TDX_TEE_TYPE)


@dataclass(frozen=True)
class TdxVerified:
    """What a successful verification established."""

    quote: TdxQuote
    pck: x509.Certificate


def _p256_verify(public: ec.EllipticCurvePublicKey, raw_sig: bytes, data: bytes) -> None:
    r = int.from_bytes(raw_sig[:32], "big")
    s = int.from_bytes(raw_sig[32:64], "big")
    public.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))


def verify_tdx_quote(
    quote: TdxQuote | bytes,
    *,
    trusted_roots: list[x509.Certificate],
    now: datetime.datetime | None = None,
) -> TdxVerified:
    """Verify a TDX v4 quote offline up to a pinned root.

    Steps, in the order of Intel's quote verification (QVL, ECDSA quote v4):

    1. the PCK chain in the certification data is PCK -> PCK Platform/Processor CA -> root, each
       certificate signed by the next, and the root is one of ``trusted_roots`` and self-signed;
    2. every certificate is within its validity window at ``now``;
    3. the QE report is signed (ECDSA P-256/SHA-256) by the PCK key;
    4. the QE report data begins with SHA-256(attestation key || QE authentication data)
       and is zero after it, which binds the attestation key to the quoting enclave;
    5. the quote signature over header and TD report body verifies with the attestation key.

    Collateral (TCB info, QE identity, CRLs) is not checked: it needs Intel's PCS data, which
    a relying party fetches and judges on its own.

    Args:
        quote: the quote (parsed, or its bytes).
        trusted_roots: the Intel SGX Root CA certificate(s) to trust.
        now: the time for validity checks; defaults to the current time.

    Raises:
        FormatError: the quote is malformed.
        AttestationError: a check failed; the message names which.
    """
    if not isinstance(quote, TdxQuote):
        quote = TdxQuote.from_bytes(quote)
    when = now or datetime.datetime.now(datetime.UTC)
    # 1. PCK chain to a pinned root.
    try:
        chain = load_pem_chain(quote.pck_chain_pem, "TDX quote PCK chain")
    except FormatError as exc:
        raise AttestationError(f"PCK certificate chain in the quote is unreadable ({exc})") from exc
    if len(chain) < 2:
        raise AttestationError("PCK certificate chain in the quote has no issuer")
    root = chain[-1]
    if not same_certificate(root, trusted_roots):
        raise AttestationError("PCK chain does not end at a trusted Intel root")
    check_link(root, root, "Intel root CA is not self-signed")
    names = ["PCK certificate", "PCK CA"] + [f"CA {i}" for i in range(2, len(chain))]
    for i in range(len(chain) - 1):
        issuer = "the Intel root CA" if i + 1 == len(chain) - 1 else names[i + 1]
        check_link(chain[i], chain[i + 1], f"{names[i]} is not signed by {issuer}")
    # 2. Validity.
    for i, cert in enumerate(chain[:-1]):
        check_validity(cert, names[i], when)
    check_validity(root, "Intel root CA", when)
    # 3. QE report by the PCK.
    try:
        pck_key = chain[0].public_key()
    except ValueError as exc:
        raise AttestationError(f"PCK certificate public key is malformed ({exc})") from exc
    if not isinstance(pck_key, ec.EllipticCurvePublicKey):
        raise AttestationError("PCK public key is not ECDSA")
    try:
        _p256_verify(pck_key, quote.qe_report_signature, quote.qe_report.raw)
    except (InvalidSignature, ValueError) as exc:
        raise AttestationError("QE report signature does not verify with the PCK key") from exc
    # 4. QE report data binds the attestation key.
    digest = hashlib.sha256(quote.attestation_key + quote.qe_auth_data).digest()
    if quote.qe_report.report_data != digest + bytes(32):
        raise AttestationError(
            "QE report data does not bind the attestation key (SHA-256(key || auth data))"
        )
    # 5. The quote signature.
    try:
        att_key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b"\x04" + quote.attestation_key
        )
        _p256_verify(att_key, quote.signature, quote.signed_bytes)
    except (InvalidSignature, ValueError) as exc:
        raise AttestationError(
            "TDX quote signature does not verify with the attestation key"
        ) from exc
    return TdxVerified(quote=quote, pck=chain[0])
