"""Test-side SEV-SNP issuer: an ARK/ASK/VCEK chain and reports signed with chosen fields.

It lets tests make evidence over any report data and guest policy, the way a real AMD chip
would, so appraisal can be exercised end to end. Nothing here ships in ``src``.
"""

from __future__ import annotations

import datetime
import functools
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from sealog.attest import SnpCertTable
from sealog.attest._snp import ARK_GUID, ASK_GUID, VCEK_GUID

PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
CHIP_ID = bytes(range(64))
#: Milan layout: bootloader byte 0, TEE byte 1, SNP byte 6, microcode byte 7.
REPORTED_TCB = int.from_bytes(bytes([3, 0, 0, 0, 0, 0, 8, 115]), "little")
DEBUG_BIT = 1 << 19
#: SMT allowed, reserved bit 17 set, ABI 0.0: what a production guest typically runs with.
PROD_POLICY = 0x30000


@dataclass(frozen=True)
class TestChain:
    """A fake AMD product: root, signing key and one chip's VCEK."""

    ark: x509.Certificate
    ask: x509.Certificate
    vcek: x509.Certificate
    vcek_key: ec.EllipticCurvePrivateKey

    @property
    def chain_pem(self) -> bytes:
        """ASK then ARK, as AMD's KDS serves ``cert_chain``."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (self.ask, self.ark))

    @property
    def vcek_der(self) -> bytes:
        """The VCEK in DER."""
        return self.vcek.public_bytes(serialization.Encoding.DER)

    def cert_table(self) -> bytes:
        """The certificate table a host would hand the guest (auxblob)."""
        der = serialization.Encoding.DER
        return SnpCertTable(
            {
                ARK_GUID: self.ark.public_bytes(der),
                ASK_GUID: self.ask.public_bytes(der),
                VCEK_GUID: self.vcek_der,
            }
        ).to_bytes()


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Engineering"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Micro Devices"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _int_ext(value: int) -> bytes:
    return bytes([0x02, 0x01, value]) if value < 0x80 else bytes([0x02, 0x02, 0x00, value])


def _cert(
    subject: str,
    issuer: str,
    public: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    signer: rsa.RSAPrivateKey,
    extensions: Sequence[x509.UnrecognizedExtension] = (),
) -> x509.Certificate:
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365 * 20))
    )
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(signer, hashes.SHA384(), rsa_padding=PSS)


def make_chain(
    product: str = "Milan", chip_id: bytes = CHIP_ID, tcb: int = REPORTED_TCB
) -> TestChain:
    """A new ARK (self-signed RSA-PSS), ASK signed by it, and a P-384 VCEK signed by the ASK."""
    ark_key = rsa.generate_private_key(65537, 2048)
    ask_key = rsa.generate_private_key(65537, 2048)
    vcek_key = ec.generate_private_key(ec.SECP384R1())
    ark = _cert(f"ARK-{product}", f"ARK-{product}", ark_key.public_key(), ark_key)
    ask = _cert(f"SEV-{product}", f"ARK-{product}", ask_key.public_key(), ark_key)
    b = tcb.to_bytes(8, "little")
    oid = x509.ObjectIdentifier
    exts = [
        x509.UnrecognizedExtension(oid("1.3.6.1.4.1.3704.1.2"), b"\x16\x08" + b"Milan-B0"),
        x509.UnrecognizedExtension(oid("1.3.6.1.4.1.3704.1.3.1"), _int_ext(b[0])),
        x509.UnrecognizedExtension(oid("1.3.6.1.4.1.3704.1.3.2"), _int_ext(b[1])),
        x509.UnrecognizedExtension(oid("1.3.6.1.4.1.3704.1.3.3"), _int_ext(b[6])),
        x509.UnrecognizedExtension(oid("1.3.6.1.4.1.3704.1.3.8"), _int_ext(b[7])),
        x509.UnrecognizedExtension(oid("1.3.6.1.4.1.3704.1.4"), chip_id),
    ]
    vcek = _cert("SEV-VCEK", f"SEV-{product}", vcek_key.public_key(), ask_key, exts)
    return TestChain(ark, ask, vcek, vcek_key)


@functools.cache
def shared_chain() -> TestChain:
    """One chain for the whole test run (RSA key generation is slow)."""
    return make_chain()


def build_report(
    chain: TestChain,
    report_data: bytes,
    *,
    policy: int = PROD_POLICY,
    measurement: bytes = b"\x11" * 48,
    chip_id: bytes = CHIP_ID,
    tcb: int = REPORTED_TCB,
    version: int = 2,
) -> bytes:
    """A 1184-byte report with the given fields, signed by the chain's VCEK."""
    assert len(report_data) == 64
    r = bytearray(0x4A0)
    struct.pack_into("<IIQ", r, 0, version, 1, policy)
    struct.pack_into("<IIQQI", r, 0x30, 0, 1, tcb, 0x3, 0)  # VMPL 0, ECDSA P-384, VCEK
    r[0x50:0x90] = report_data
    r[0x90:0xC0] = measurement
    struct.pack_into("<Q", r, 0x180, tcb)
    r[0x1A0:0x1E0] = chip_id
    struct.pack_into("<Q", r, 0x1E0, tcb)
    r[0x1E8:0x1EB] = bytes([21, 55, 1])
    r[0x1EC:0x1EF] = bytes([21, 55, 1])
    struct.pack_into("<Q", r, 0x1F0, tcb)
    der = chain.vcek_key.sign(bytes(r[:0x2A0]), ec.ECDSA(hashes.SHA384()))
    sig_r, sig_s = decode_dss_signature(der)
    r[0x2A0:0x2E8] = sig_r.to_bytes(72, "little")
    r[0x2E8:0x330] = sig_s.to_bytes(72, "little")
    return bytes(r)
