"""Trust roots given as PEM files are sorted into AMD chains and TDX roots, or refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealog.attest import load_trust_roots
from sealog.errors import FormatError


def test_amd_chain_and_intel_root_are_told_apart(vectors: Path) -> None:
    milan = vectors / "tee" / "snp" / "ask_ark_milan.pem"
    intel = vectors / "tee" / "tdx" / "intel_sgx_root_ca.pem"
    snp, tdx = load_trust_roots([milan, intel])
    assert snp == (milan.read_bytes(),)
    assert tdx == (intel.read_bytes(),)


@pytest.mark.parametrize(
    ("content", "expected"), [(None, "cannot read"), (b"no PEM here\n", "not a PEM")]
)
def test_unreadable_or_non_pem_trust_root_is_bad_input(tmp_path, content, expected) -> None:
    path = tmp_path / "root.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FormatError, match=expected):
        load_trust_roots([path])
