"""AMD SEV-SNP attestation reports: parsing and offline verification.

Layout and signature scheme follow AMD's SEV-SNP firmware ABI specification (publication 56860),
``ATTESTATION_REPORT`` structure (table "ATTESTATION_REPORT Structure"), versions 2 to 5. All
integers are little-endian.
"""

from __future__ import annotations

import datetime
import struct
import uuid
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from sealog.attest._chain import check_link, check_validity, same_certificate
from sealog.errors import AttestationError, FormatError

__all__ = [
    "SNP_REPORT_SIZE",
    "SNP_SIGNED_SIZE",
    "VCEK_GUID",
    "SnpCertTable",
    "SnpPolicy",
    "SnpReport",
    "SnpVerified",
    "TcbVersion",
    "looks_like_snp_report",
    "verify_snp_report",
]

#: Size of an attestation report, versions 2 to 5.
SNP_REPORT_SIZE = 0x4A0
#: The signature covers bytes 0x000..0x29F.
SNP_SIGNED_SIZE = 0x2A0
#: Report versions this parser knows the layout of.
_VERSIONS = range(2, 6)
#: SIGNATURE_ALGO 1: ECDSA P-384 with SHA-384.
_ALGO_ECDSA_P384_SHA384 = 1
#: GUIDs of the GHCB certificate table (extended guest request), in RFC 4122 byte order.
ARK_GUID = uuid.UUID("c0b406a4-a803-4952-9743-3fb6014cd0ae")
ASK_GUID = uuid.UUID("4ab7b379-bbac-4fe4-a02f-05aef327c782")
VCEK_GUID = uuid.UUID("63da758d-e664-4564-adc5-f4b93be8accd")

# VCEK certificate extensions (AMD "VCEK certificate and KDS interface specification").
_OID_PRODUCT = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1.2")
_OID_BL_SPL = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1.3.1")
_OID_TEE_SPL = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1.3.2")
_OID_SNP_SPL = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1.3.3")
_OID_UCODE_SPL = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1.3.8")
_OID_FMC_SPL = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1.3.9")
_OID_HWID = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1.4")


@dataclass(frozen=True)
class TcbVersion:
    """A TCB_VERSION: security patch levels of the firmware components.

    The byte layout differs by product: Milan and Genoa put the boot loader in byte 0, the TEE
    in byte 1, SNP in byte 6 and microcode in byte 7; Turin adds FMC in byte 0 and shifts boot
    loader, TEE and SNP to bytes 1..3. ``raw`` is the 64-bit value either way.
    """

    raw: int

    def fields(self, product: str = "Milan") -> dict[str, int]:
        """The named patch levels for ``product`` (``Milan``, ``Genoa`` or ``Turin``)."""
        b = self.raw.to_bytes(8, "little")
        if product.startswith("Turin"):
            return {"fmc": b[0], "bootloader": b[1], "tee": b[2], "snp": b[3], "microcode": b[7]}
        return {"bootloader": b[0], "tee": b[1], "snp": b[6], "microcode": b[7]}


@dataclass(frozen=True)
class SnpPolicy:
    """The guest policy the VM was launched with (64 bits)."""

    raw: int

    @property
    def abi_minor(self) -> int:
        """Lowest firmware ABI minor version allowed (bits 0..7)."""
        return self.raw & 0xFF

    @property
    def abi_major(self) -> int:
        """Lowest firmware ABI major version allowed (bits 8..15)."""
        return (self.raw >> 8) & 0xFF

    @property
    def smt_allowed(self) -> bool:
        """Bit 16: simultaneous multithreading may be enabled."""
        return bool(self.raw >> 16 & 1)

    @property
    def migrate_ma(self) -> bool:
        """Bit 18: association with a migration agent is allowed."""
        return bool(self.raw >> 18 & 1)

    @property
    def debug(self) -> bool:
        """Bit 19: the hypervisor may debug the guest (read and write its memory)."""
        return bool(self.raw >> 19 & 1)

    @property
    def single_socket(self) -> bool:
        """Bit 20: the guest may run on one socket only."""
        return bool(self.raw >> 20 & 1)

    def flags(self) -> list[str]:
        """Names of the set bits beyond the ABI version, for display."""
        names = {
            16: "SMT",
            17: "RESERVED_1",
            18: "MIGRATE_MA",
            19: "DEBUG",
            20: "SINGLE_SOCKET",
            21: "CXL_ALLOW",
            22: "MEM_AES_256_XTS",
            23: "RAPL_DIS",
            24: "CIPHERTEXT_HIDING",
            25: "PAGE_SWAP_DISABLE",
        }
        return [name for bit, name in names.items() if self.raw >> bit & 1]


@dataclass(frozen=True)
class SnpReport:
    """A parsed SEV-SNP attestation report. Build it with :meth:`from_bytes`."""

    raw: bytes
    version: int
    guest_svn: int
    policy: SnpPolicy
    family_id: bytes
    image_id: bytes
    vmpl: int
    signature_algo: int
    current_tcb: TcbVersion
    platform_info: int
    author_key_en: bool
    mask_chip_key: bool
    signing_key: int
    report_data: bytes
    measurement: bytes
    host_data: bytes
    id_key_digest: bytes
    author_key_digest: bytes
    report_id: bytes
    report_id_ma: bytes
    reported_tcb: TcbVersion
    chip_id: bytes
    committed_tcb: TcbVersion
    current_build: int
    current_minor: int
    current_major: int
    committed_build: int
    committed_minor: int
    committed_major: int
    launch_tcb: TcbVersion
    signature_r: bytes
    signature_s: bytes

    @classmethod
    def from_bytes(cls, data: bytes) -> SnpReport:
        """Parse a report.

        Raises:
            FormatError: wrong size or an unknown version.
        """
        if len(data) != SNP_REPORT_SIZE:
            raise FormatError(
                f"SNP report is {len(data)} bytes, expected {SNP_REPORT_SIZE} "
                "(truncated or not a report)"
            )
        version, guest_svn, policy = struct.unpack_from("<IIQ", data, 0x00)
        if version not in _VERSIONS:
            raise FormatError(f"SNP report version {version} is not supported (expected 2..5)")
        vmpl, algo, current_tcb, platform_info, signer = struct.unpack_from("<IIQQI", data, 0x30)
        (reported_tcb,) = struct.unpack_from("<Q", data, 0x180)
        (committed_tcb,) = struct.unpack_from("<Q", data, 0x1E0)
        cur = data[0x1E8:0x1EB]
        com = data[0x1EC:0x1EF]
        (launch_tcb,) = struct.unpack_from("<Q", data, 0x1F0)
        return cls(
            raw=bytes(data),
            version=version,
            guest_svn=guest_svn,
            policy=SnpPolicy(policy),
            family_id=data[0x10:0x20],
            image_id=data[0x20:0x30],
            vmpl=vmpl,
            signature_algo=algo,
            current_tcb=TcbVersion(current_tcb),
            platform_info=platform_info,
            author_key_en=bool(signer & 1),
            mask_chip_key=bool(signer >> 1 & 1),
            signing_key=(signer >> 2) & 0x7,
            report_data=data[0x50:0x90],
            measurement=data[0x90:0xC0],
            host_data=data[0xC0:0xE0],
            id_key_digest=data[0xE0:0x110],
            author_key_digest=data[0x110:0x140],
            report_id=data[0x140:0x160],
            report_id_ma=data[0x160:0x180],
            reported_tcb=TcbVersion(reported_tcb),
            chip_id=data[0x1A0:0x1E0],
            committed_tcb=TcbVersion(committed_tcb),
            current_build=cur[0],
            current_minor=cur[1],
            current_major=cur[2],
            committed_build=com[0],
            committed_minor=com[1],
            committed_major=com[2],
            launch_tcb=TcbVersion(launch_tcb),
            signature_r=data[0x2A0:0x2E8],
            signature_s=data[0x2E8:0x330],
        )

    @property
    def signed_bytes(self) -> bytes:
        """Bytes 0x000..0x29F, the part the VCEK signs."""
        return self.raw[:SNP_SIGNED_SIZE]

    @property
    def debug(self) -> bool:
        """Whether the guest policy allows the hypervisor to debug the guest."""
        return self.policy.debug


def looks_like_snp_report(data: bytes) -> bool:
    """Cheap detection: the size of a report and a known version."""
    return len(data) == SNP_REPORT_SIZE and struct.unpack_from("<I", data, 0)[0] in _VERSIONS


@dataclass(frozen=True)
class SnpCertTable:
    """The GHCB certificate table the kernel returns as ``auxblob``: GUID -> certificate DER."""

    entries: dict[uuid.UUID, bytes]

    @classmethod
    def from_bytes(cls, data: bytes) -> SnpCertTable:
        """Parse the table: 24-byte entries (GUID, offset, length) ended by an all-zero entry.

        Offsets are from the start of the table.

        Raises:
            FormatError: an entry points outside the table, or the terminator is missing.
        """
        entries: dict[uuid.UUID, bytes] = {}
        pos = 0
        while True:
            if pos + 24 > len(data):
                raise FormatError("SNP certificate table: missing terminating entry")
            guid_bytes = data[pos : pos + 16]
            offset, length = struct.unpack_from("<II", data, pos + 16)
            pos += 24
            if guid_bytes == bytes(16) and offset == 0 and length == 0:
                return cls(entries)
            if offset + length > len(data) or offset < pos:
                raise FormatError("SNP certificate table: an entry points outside the table")
            entries[uuid.UUID(bytes=guid_bytes)] = data[offset : offset + length]

    def to_bytes(self) -> bytes:
        """Encode the table (entries, terminator, then the certificates)."""
        head = 24 * (len(self.entries) + 1)
        table = b""
        body = b""
        for guid, cert in self.entries.items():
            table += guid.bytes + struct.pack("<II", head + len(body), len(cert))
            body += cert
        return table + bytes(24) + body

    @property
    def vcek(self) -> bytes | None:
        """The VCEK certificate (DER), if the host supplied one."""
        return self.entries.get(VCEK_GUID)


@dataclass(frozen=True)
class SnpVerified:
    """What a successful verification established."""

    report: SnpReport
    vcek: x509.Certificate
    product: str


def _ext_int(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> int | None:
    try:
        value = cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None
    raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
    # DER INTEGER (tag 0x02), short form: AMD encodes each SPL as a small INTEGER.
    if len(raw) >= 3 and raw[0] == 0x02 and raw[1] == len(raw) - 2:
        return int.from_bytes(raw[2:], "big")
    return None


def _ext_bytes(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> bytes | None:
    try:
        value = cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None
    if not isinstance(value, x509.UnrecognizedExtension):
        return None
    raw = value.value
    # hwID is 64 raw bytes in AMD's certificates; accept an OCTET STRING wrapping too.
    if len(raw) == 66 and raw[0] == 0x04 and raw[1] == 64:
        return raw[2:]
    return raw


def _product(cert: x509.Certificate) -> str:
    try:
        value = cert.extensions.get_extension_for_oid(_OID_PRODUCT).value
    except x509.ExtensionNotFound:
        return "Milan"
    raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
    if len(raw) >= 2 and raw[0] == 0x16:  # IA5String
        return raw[2:].decode("ascii", "replace")
    return raw.decode("ascii", "replace")


def verify_snp_report(
    report: SnpReport | bytes,
    *,
    vcek: x509.Certificate,
    ask: x509.Certificate,
    ark: x509.Certificate,
    trusted_arks: list[x509.Certificate] | None = None,
    now: datetime.datetime | None = None,
) -> SnpVerified:
    """Verify an SEV-SNP report and its certificate chain offline.

    Steps, in the order of AMD's specification (ABI spec 56860 and the VCEK/KDS spec 57230):

    1. the ARK is self-signed (RSASSA-PSS, SHA-384) and, when ``trusted_arks`` is given, is one
       of them byte for byte;
    2. the ASK is signed by the ARK;
    3. the VCEK is signed by the ASK;
    4. every certificate is within its validity window at ``now``;
    5. the report is signed with ECDSA P-384/SHA-384 (SIGNATURE_ALGO 1) by a VCEK
       (SIGNING_KEY 0);
    6. the VCEK belongs to the chip and TCB of the report: its hwID extension equals CHIP_ID
       (unless MASK_CHIP_KEY) and its SPL extensions equal REPORTED_TCB;
    7. the signature (r, s: 72-byte little-endian at 0x2A0) over bytes 0x000..0x29F verifies
       with the VCEK public key.

    Args:
        report: the report (parsed, or its 1184 bytes).
        vcek: the VCEK certificate.
        ask: the AMD SEV signing key certificate for the product.
        ark: the AMD root key certificate for the product.
        trusted_arks: pinned roots; ``None`` trusts ``ark`` as given (the caller pinned it).
        now: the time for validity checks; defaults to the current time.

    Returns:
        What verified: the report, the VCEK and the product name.

    Raises:
        FormatError: the report bytes are malformed.
        AttestationError: a check failed; the message names which.
    """
    if not isinstance(report, SnpReport):
        report = SnpReport.from_bytes(report)
    when = now or datetime.datetime.now(datetime.UTC)
    # 1. The root is self-signed and pinned.
    if trusted_arks is not None and not same_certificate(ark, trusted_arks):
        raise AttestationError("ARK is not a trusted AMD root")
    check_link(ark, ark, "ARK is not self-signed")
    # 2., 3. The chain.
    check_link(ask, ark, "ASK is not signed by the ARK")
    check_link(vcek, ask, "VCEK is not signed by the ASK")
    # 4. Validity.
    check_validity(ark, "ARK", when)
    check_validity(ask, "ASK", when)
    check_validity(vcek, "VCEK", when)
    # 5. Algorithm and key kind.
    if report.signature_algo != _ALGO_ECDSA_P384_SHA384:
        raise AttestationError(
            f"SNP report signature algorithm is {report.signature_algo}, expected 1 (ECDSA P-384)"
        )
    if report.signing_key != 0:
        raise AttestationError(
            f"SNP report is signed by key kind {report.signing_key}, expected 0 (VCEK)"
        )
    # 6. The VCEK is the one for this chip and TCB.
    product = _product(vcek)
    if not report.mask_chip_key:
        hwid = _ext_bytes(vcek, _OID_HWID)
        if hwid is None or hwid != report.chip_id:
            raise AttestationError("VCEK hwID does not match the report's CHIP_ID")
    expected = report.reported_tcb.fields(product)
    oids = {
        "bootloader": _OID_BL_SPL,
        "tee": _OID_TEE_SPL,
        "snp": _OID_SNP_SPL,
        "microcode": _OID_UCODE_SPL,
        "fmc": _OID_FMC_SPL,
    }
    for name, level in expected.items():
        if _ext_int(vcek, oids[name]) != level:
            raise AttestationError(f"VCEK {name} SPL does not match the report's REPORTED_TCB")
    # 7. The report signature.
    try:
        key = vcek.public_key()
    except ValueError as exc:
        raise AttestationError(f"VCEK certificate public key is malformed ({exc})") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        raise AttestationError("VCEK public key is not ECDSA P-384")
    r = int.from_bytes(report.signature_r, "little")
    s = int.from_bytes(report.signature_s, "little")
    try:
        key.verify(encode_dss_signature(r, s), report.signed_bytes, ec.ECDSA(hashes.SHA384()))
    except (InvalidSignature, ValueError) as exc:
        raise AttestationError("SNP report signature does not verify with the VCEK") from exc
    return SnpVerified(report=report, vcek=vcek, product=product)
