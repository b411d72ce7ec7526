"""SEV-SNP: the real published report verifies; every tampering or wrong chain is refused."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TypedDict

import pytest
from attest_snp_builder import build_report, make_chain, shared_chain
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.attest import (
    VCEK_GUID,
    SnpCertTable,
    SnpReport,
    SnpVerified,
    load_certificate,
    load_pem_chain,
    looks_like_snp_report,
    verify_snp_report,
)
from sealog.errors import AttestationError, FormatError


class SnpSample(TypedDict):
    """The published SNP report, the VCEK that signed it, and the Milan ASK and ARK."""

    report: bytes
    vcek: x509.Certificate
    ask: x509.Certificate
    ark: x509.Certificate
    dir: Path


@pytest.fixture(scope="module")
def snp(vectors: Path) -> SnpSample:
    d = vectors / "tee" / "snp"
    ask, ark = load_pem_chain((d / "ask_ark_milan.pem").read_bytes(), "milan")
    return {
        "report": (d / "attestation.bin").read_bytes(),
        "vcek": load_certificate((d / "vcek.der").read_bytes(), "vcek"),
        "ask": ask,
        "ark": ark,
        "dir": d,
    }


def _verify(
    snp: SnpSample,
    report: bytes,
    *,
    ask: x509.Certificate | None = None,
    ark: x509.Certificate | None = None,
    trusted_arks: list[x509.Certificate] | None = None,
    now: datetime.datetime | None = None,
) -> SnpVerified:
    """Verify ``report`` with the sample's chain, or with the parts of a chain given."""
    return verify_snp_report(
        report,
        vcek=snp["vcek"],
        ask=snp["ask"] if ask is None else ask,
        ark=snp["ark"] if ark is None else ark,
        trusted_arks=trusted_arks,
        now=now,
    )


def test_published_report_verifies_up_to_the_milan_ark(snp: SnpSample) -> None:
    verified = _verify(snp, snp["report"])
    assert verified.product == "Milan-B0"


def test_published_report_fields_parse(snp: SnpSample) -> None:
    report = SnpReport.from_bytes(snp["report"])
    assert report.version == 2
    assert report.policy.raw == 0xB0000
    assert report.policy.debug  # bit 19: this sample guest allows debugging
    assert report.policy.smt_allowed
    assert report.report_data == bytes([1, 2, 3, 4, 5]) + bytes(59)
    assert report.signature_algo == 1
    assert report.signing_key == 0
    assert report.vmpl == 0
    assert report.current_tcb.fields() == {"bootloader": 2, "tee": 0, "snp": 5, "microcode": 0x44}
    assert report.reported_tcb == report.committed_tcb == report.launch_tcb
    assert report.chip_id.hex().startswith("3ac3fe21")
    assert len(report.signature_r) == len(report.signature_s) == 72
    assert looks_like_snp_report(snp["report"])


def test_loading_the_real_vcek_does_not_warn(vectors: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_certificate((vectors / "tee/snp/vcek.der").read_bytes(), "vcek")


@settings(max_examples=150, deadline=None)
@given(bit=st.integers(min_value=0, max_value=0x2A0 * 8 - 1))
def test_any_single_flipped_bit_in_the_signed_region_is_rejected(snp: SnpSample, bit: int) -> None:
    data = bytearray(snp["report"])
    data[bit // 8] ^= 1 << (bit % 8)
    # A flip in the version field makes an unknown version (bad input); anything else fails a check.
    with pytest.raises((AttestationError, FormatError)):
        _verify(snp, bytes(data))


@settings(max_examples=50, deadline=None)
@given(bit=st.integers(min_value=0x2A0 * 8, max_value=0x330 * 8 - 1))
def test_any_flipped_bit_in_the_signature_is_rejected(snp: SnpSample, bit: int) -> None:
    data = bytearray(snp["report"])
    data[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(
        AttestationError, match="SNP report signature does not verify with the VCEK"
    ):
        _verify(snp, bytes(data))


def test_host_changes_report_data_is_detected(snp: SnpSample) -> None:
    data = bytearray(snp["report"])
    data[0x50] ^= 0xFF
    with pytest.raises(
        AttestationError, match="SNP report signature does not verify with the VCEK"
    ):
        _verify(snp, bytes(data))


def test_host_clears_the_debug_bit_is_detected(snp: SnpSample) -> None:
    data = bytearray(snp["report"])
    data[0x0A] &= ~0x08  # policy bit 19
    assert not SnpReport.from_bytes(bytes(data)).debug
    with pytest.raises(AttestationError, match="SNP report signature does not verify"):
        _verify(snp, bytes(data))


@pytest.mark.parametrize("size", [0, 0x2A0, 1183, 1185])
def test_truncated_or_padded_report_is_bad_input(snp: SnpSample, size: int) -> None:
    data = (snp["report"] + bytes(8))[:size]
    with pytest.raises(FormatError, match="expected 1184"):
        _verify(snp, data)


@pytest.mark.parametrize("chain", ["ask_ark_genoa.pem", "ask_ark_turin_vcek.pem"])
def test_other_product_chains_do_not_sign_the_milan_vcek(snp: SnpSample, chain: str) -> None:
    ask, ark = load_pem_chain((snp["dir"] / chain).read_bytes(), chain)
    with pytest.raises(AttestationError, match="VCEK is not signed by the ASK"):
        _verify(snp, snp["report"], ask=ask, ark=ark)


def test_milan_ask_under_the_genoa_ark_is_refused(snp: SnpSample) -> None:
    _, genoa_ark = load_pem_chain((snp["dir"] / "ask_ark_genoa.pem").read_bytes(), "g")
    with pytest.raises(AttestationError, match="ASK is not signed by the ARK"):
        _verify(snp, snp["report"], ark=genoa_ark)


def test_a_root_that_is_not_pinned_is_refused(snp: SnpSample) -> None:
    _, genoa_ark = load_pem_chain((snp["dir"] / "ask_ark_genoa.pem").read_bytes(), "g")
    with pytest.raises(AttestationError, match="ARK is not a trusted AMD root"):
        _verify(snp, snp["report"], trusted_arks=[genoa_ark])
    _verify(snp, snp["report"], trusted_arks=[snp["ark"]])


def test_attacker_chain_with_a_self_made_ark_is_refused_when_the_ark_is_pinned(
    snp: SnpSample,
) -> None:
    fake = shared_chain()
    report = build_report(fake, bytes(64))
    with pytest.raises(AttestationError, match="ARK is not a trusted AMD root"):
        verify_snp_report(
            report,
            vcek=fake.vcek,
            ask=fake.ask,
            ark=fake.ark,
            trusted_arks=[snp["ark"]],
        )


def test_expired_vcek_is_refused(snp: SnpSample) -> None:
    later = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    with pytest.raises(AttestationError, match="VCEK expired on 2029-09-24"):
        _verify(snp, snp["report"], now=later)


def test_synthetic_report_verifies_with_its_test_chain() -> None:
    chain = shared_chain()
    report = build_report(chain, b"\xaa" * 64)
    verified = verify_snp_report(report, vcek=chain.vcek, ask=chain.ask, ark=chain.ark)
    assert verified.report.report_data == b"\xaa" * 64


def test_vcek_of_another_chip_is_refused() -> None:
    chain = shared_chain()
    other = make_chain(chip_id=b"\x77" * 64)
    report = build_report(other, bytes(64), chip_id=b"\x77" * 64)  # the other chip's report
    with pytest.raises(AttestationError, match="VCEK hwID does not match the report's CHIP_ID"):
        verify_snp_report(report, vcek=chain.vcek, ask=chain.ask, ark=chain.ark)


def test_vcek_for_an_older_tcb_is_refused() -> None:
    chain = shared_chain()
    newer = int.from_bytes(bytes([3, 0, 0, 0, 0, 0, 9, 115]), "little")
    report = build_report(chain, bytes(64), tcb=newer)
    with pytest.raises(AttestationError, match="VCEK snp SPL does not match"):
        verify_snp_report(report, vcek=chain.vcek, ask=chain.ask, ark=chain.ark)


def test_cert_table_round_trips_and_finds_the_vcek() -> None:
    table = SnpCertTable.from_bytes(shared_chain().cert_table())
    assert table.vcek == shared_chain().vcek_der
    assert SnpCertTable.from_bytes(table.to_bytes()) == table
    assert VCEK_GUID in table.entries


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        bytes(23),
        b"\x01" * 24,
        b"\x8d" * 16 + (1000).to_bytes(4, "little") + (5).to_bytes(4, "little"),
    ],
)
def test_malformed_cert_table_is_bad_input(blob: bytes) -> None:
    with pytest.raises(FormatError, match="SNP certificate table"):
        SnpCertTable.from_bytes(blob)


def test_unknown_report_version_is_bad_input(snp: SnpSample) -> None:
    data = bytearray(snp["report"])
    data[0] = 9
    with pytest.raises(FormatError, match="version 9 is not supported"):
        SnpReport.from_bytes(bytes(data))
