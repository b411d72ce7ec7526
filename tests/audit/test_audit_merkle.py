"""RFC 9162 Merkle hashing and proofs against the published transparency-dev vectors."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.audit import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from sealog.errors import FormatError, VerificationError

# Collection needs the file names before fixtures exist: the same folder the vectors fixture serves.
_VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "rfc9162"


def _vector_files(kind: str) -> list[Path]:
    return sorted((_VECTORS / kind).rglob("*.json"))


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(_VECTORS)) for p in paths]


def _load(vectors: Path, path: Path) -> dict[str, Any]:
    full = vectors / "rfc9162" / path.relative_to(_VECTORS)
    vector: dict[str, Any] = json.loads(full.read_text())
    return vector


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


INCLUSION = _vector_files("inclusion")
CONSISTENCY = _vector_files("consistency")


def test_the_published_vectors_are_present() -> None:
    assert len(INCLUSION) > 90
    assert len(CONSISTENCY) > 90


@pytest.mark.parametrize("path", INCLUSION, ids=_ids(INCLUSION))
def test_inclusion_vector(vectors: Path, path: Path) -> None:
    """Every good proof verifies; every altered index, size, root, leaf or path is rejected."""
    v = _load(vectors, path)
    proof = [_b64(p) for p in v["proof"] or []]
    args = (_b64(v["leafHash"]), v["leafIdx"], v["treeSize"], proof, _b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(VerificationError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", CONSISTENCY, ids=_ids(CONSISTENCY))
def test_consistency_vector(vectors: Path, path: Path) -> None:
    """Every good proof verifies; every altered size, root or path (a fork) is rejected."""
    v = _load(vectors, path)
    proof = [_b64(p) for p in v["proof"] or []]
    args = (v["size1"], v["size2"], proof, _b64(v["root1"]), _b64(v["root2"]))
    if v["wantErr"]:
        with pytest.raises(VerificationError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_hashing_follows_rfc9162() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert root_hash([]) == EMPTY_ROOT
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    # Three leaves split at 2: ((a b) c), not (a (b c)).
    assert root_hash([a, b, c]) == node_hash(node_hash(a, b), c)


def test_known_root_of_the_rfc6962_reference_tree() -> None:
    """The 8-leaf tree of the RFC 6962 reference tests has a published root."""
    leaves = [
        bytes.fromhex(h)
        for h in (
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        )
    ]
    root = root_hash([leaf_hash(x) for x in leaves])
    assert root.hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def test_proof_requests_out_of_range_are_bad_input() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(4)]
    with pytest.raises(FormatError):
        inclusion_proof(leaves, 4)
    with pytest.raises(FormatError):
        inclusion_proof(leaves, 0, 5)
    with pytest.raises(FormatError):
        consistency_proof(leaves, 3, 2)


@st.composite
def _tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    size = draw(st.integers(min_value=1, max_value=70))
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(size)]
    index = draw(st.integers(min_value=0, max_value=size - 1))
    return leaves, index, size


@settings(max_examples=150, deadline=None)
@given(_tree_and_index(), st.data())
def test_generated_inclusion_proofs_verify_and_any_change_is_rejected(
    case: tuple[list[bytes], int, int], data: st.DataObject
) -> None:
    leaves, index, size = case
    root = root_hash(leaves)
    proof = inclusion_proof(leaves, index)
    verify_inclusion(leaves[index], index, size, proof, root)
    # Another index, another root or one flipped bit must all be rejected. (Another size with
    # the same root can legitimately verify: the size is bound by the signed tree head.)
    other = data.draw(st.integers(min_value=0, max_value=size).filter(lambda i: i != index))
    with pytest.raises(VerificationError):
        verify_inclusion(leaves[index], other, size, proof, root)
    flipped = bytearray(root)
    flipped[data.draw(st.integers(0, 31))] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(VerificationError):
        verify_inclusion(leaves[index], index, size, proof, bytes(flipped))
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof]
        bad[i] = bytes([bad[i][0] ^ 0x80]) + bad[i][1:]
        with pytest.raises(VerificationError):
            verify_inclusion(leaves[index], index, size, bad, root)
        with pytest.raises(VerificationError):
            verify_inclusion(leaves[index], index, size, proof[:-1], root)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=2, max_value=70), st.data())
def test_generated_consistency_proofs_verify_and_any_change_is_rejected(
    new: int, data: st.DataObject
) -> None:
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(new)]
    old = data.draw(st.integers(min_value=1, max_value=new - 1))
    old_root, new_root = root_hash(leaves[:old]), root_hash(leaves)
    proof = consistency_proof(leaves, old)
    verify_consistency(old, new, proof, old_root, new_root)
    # A forked history: the same sizes but one earlier leaf rewritten.
    forked = [*leaves]
    forked[data.draw(st.integers(0, old - 1))] = leaf_hash(b"rewritten")
    with pytest.raises(VerificationError):
        verify_consistency(old, new, proof, old_root, root_hash(forked))
    other_old = data.draw(st.integers(1, new).filter(lambda s: s != old))
    with pytest.raises(VerificationError):
        verify_consistency(other_old, new, proof, old_root, new_root)
    i = data.draw(st.integers(0, len(proof) - 1))
    bad = [*proof]
    bad[i] = bytes([bad[i][0] ^ 0x01]) + bad[i][1:]
    with pytest.raises(VerificationError):
        verify_consistency(old, new, bad, old_root, new_root)
