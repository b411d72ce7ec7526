"""Arbitrary bytes never make a parser or verifier raise anything but a sealog error."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import pytest
from attest_snp_builder import shared_chain
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.attest import SnpCertTable, SnpReport, TdxQuote, load_pem_chain, verify_tdx_quote
from sealog.errors import Error

TDX_HEADER = struct.pack("<HHI", 4, 2, 0x81)


@settings(max_examples=300, deadline=None)
@given(tail=st.binary(max_size=2000))
def test_random_tdx_like_input_raises_only_sealog_errors(tail: bytes) -> None:
    data = TDX_HEADER + tail
    with contextlib.suppress(Error):
        verify_tdx_quote(data, trusted_roots=[shared_chain().ark])


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=5000), junk=st.binary(max_size=64))
def test_cut_and_patched_real_quote_raises_only_sealog_errors(
    vectors: Path, cut: int, junk: bytes
) -> None:
    d = vectors / "tee/tdx"
    quote = (d / "tdx_prod_quote_SPR_E4.dat").read_bytes()
    data = quote[:cut] + junk + quote[cut + len(junk) :]
    roots = load_pem_chain((d / "intel_sgx_root_ca.pem").read_bytes(), "root")
    with contextlib.suppress(Error):
        verify_tdx_quote(data, trusted_roots=roots)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400))
def test_random_cert_table_raises_only_sealog_errors(data: bytes) -> None:
    with contextlib.suppress(Error):
        SnpCertTable.from_bytes(data)


@pytest.mark.parametrize("size", [0, 1, 1184, 5000])
def test_zero_filled_input_is_bad_input(size: int) -> None:
    with pytest.raises(Error):
        SnpReport.from_bytes(bytes(size))
    with pytest.raises(Error):
        TdxQuote.from_bytes(bytes(size))
