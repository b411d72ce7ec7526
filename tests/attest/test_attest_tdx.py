"""TDX: the real published v4 quote verifies to the Intel SGX Root CA; tampering is refused."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from attest_snp_builder import shared_chain
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.attest import (
    TdxQuote,
    TdxVerified,
    load_pem_chain,
    looks_like_tdx_quote,
    verify_tdx_quote,
)
from sealog.errors import AttestationError, FormatError

SIGNED = 48 + 584
SIG = SIGNED + 4  # start of the signature data


@pytest.fixture(scope="module")
def tdx(vectors: Path) -> tuple[bytes, list[x509.Certificate]]:
    d = vectors / "tee" / "tdx"
    roots = load_pem_chain((d / "intel_sgx_root_ca.pem").read_bytes(), "root")
    return (d / "tdx_prod_quote_SPR_E4.dat").read_bytes(), roots


def _verify(
    tdx: tuple[bytes, list[x509.Certificate]],
    data: bytes,
    *,
    now: datetime.datetime | None = None,
) -> TdxVerified:
    return verify_tdx_quote(data, trusted_roots=tdx[1], now=now)


def test_published_quote_verifies_to_the_intel_root(
    tdx: tuple[bytes, list[x509.Certificate]],
) -> None:
    verified = _verify(tdx, tdx[0])
    assert "Intel SGX PCK Certificate" in verified.pck.subject.rfc4514_string()


def test_published_quote_fields_parse(tdx: tuple[bytes, list[x509.Certificate]]) -> None:
    quote = TdxQuote.from_bytes(tdx[0])
    assert (quote.header.version, quote.header.attestation_key_type, quote.header.tee_type) == (
        4,
        2,
        0x81,
    )
    assert not quote.debug
    assert quote.body.td_attributes.hex() == "0000004000000000"  # SEPT_VE_DISABLE only
    assert quote.body.report_data == tdx[0][SIGNED - 64 : SIGNED]
    assert len(quote.body.mr_td) == len(quote.body.rtmr3) == 48
    assert quote.pck_chain_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert looks_like_tdx_quote(tdx[0])


@settings(max_examples=150, deadline=None)
@given(bit=st.integers(min_value=0, max_value=SIGNED * 8 - 1))
def test_any_single_flipped_bit_in_header_or_td_report_is_rejected(
    tdx: tuple[bytes, list[x509.Certificate]], bit: int
) -> None:
    data = bytearray(tdx[0])
    data[bit // 8] ^= 1 << (bit % 8)
    # Flips in version, key type or TEE type make the quote unparseable (bad input).
    with pytest.raises((AttestationError, FormatError)):
        _verify(tdx, bytes(data))


def test_host_sets_the_debug_attribute_is_detected(
    tdx: tuple[bytes, list[x509.Certificate]],
) -> None:
    data = bytearray(tdx[0])
    data[48 + 16 + 48 + 48 + 8] |= 1  # TDATTRIBUTES bit 0
    assert TdxQuote.from_bytes(bytes(data)).debug
    with pytest.raises(
        AttestationError, match="TDX quote signature does not verify with the attestation key"
    ):
        _verify(tdx, bytes(data))


def test_tampered_quote_signature_is_rejected(tdx: tuple[bytes, list[x509.Certificate]]) -> None:
    data = bytearray(tdx[0])
    data[SIG + 5] ^= 1
    with pytest.raises(AttestationError, match="TDX quote signature does not verify"):
        _verify(tdx, bytes(data))


def test_substituted_attestation_key_is_rejected(tdx: tuple[bytes, list[x509.Certificate]]) -> None:
    data = bytearray(tdx[0])
    data[SIG + 64 + 3] ^= 1
    with pytest.raises(AttestationError, match="QE report data does not bind the attestation key"):
        _verify(tdx, bytes(data))


def test_tampered_qe_report_is_rejected(tdx: tuple[bytes, list[x509.Certificate]]) -> None:
    data = bytearray(tdx[0])
    data[SIG + 134 + 100] ^= 1
    with pytest.raises(
        AttestationError, match="QE report signature does not verify with the PCK key"
    ):
        _verify(tdx, bytes(data))


def test_tampered_qe_auth_data_is_rejected(tdx: tuple[bytes, list[x509.Certificate]]) -> None:
    data = bytearray(tdx[0])
    data[SIG + 134 + 384 + 64 + 2] ^= 1
    with pytest.raises(AttestationError, match="QE report data does not bind"):
        _verify(tdx, bytes(data))


def test_chain_to_another_root_is_refused(tdx: tuple[bytes, list[x509.Certificate]]) -> None:
    with pytest.raises(AttestationError, match="PCK chain does not end at a trusted Intel root"):
        verify_tdx_quote(tdx[0], trusted_roots=[shared_chain().ark])


def test_expired_pck_is_refused(tdx: tuple[bytes, list[x509.Certificate]]) -> None:
    later = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    with pytest.raises(AttestationError, match="PCK certificate expired"):
        _verify(tdx, tdx[0], now=later)


@pytest.mark.parametrize("size", [0, 47, 600, SIGNED + 4, SIG + 200, 3000])
def test_truncated_quote_is_bad_input(tdx: tuple[bytes, list[x509.Certificate]], size: int) -> None:
    with pytest.raises(FormatError):
        _verify(tdx, tdx[0][:size])


def test_sgx_quote_header_is_not_a_tdx_quote(tdx: tuple[bytes, list[x509.Certificate]]) -> None:
    data = bytearray(tdx[0])
    data[4] = 0  # TEE type SGX
    assert not looks_like_tdx_quote(bytes(data))
    with pytest.raises(FormatError, match="expected 0x81"):
        TdxQuote.from_bytes(bytes(data))
