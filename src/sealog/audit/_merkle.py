"""Merkle tree hashing and proofs as in RFC 9162 section 2.

The tree over ``n`` leaves ``D[0:n]`` (RFC 9162 2.1.1):

* ``MTH({}) = SHA-256()``, the hash of the empty string;
* ``MTH({d0}) = SHA-256(0x00 || d0)``, the leaf hash;
* ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` where ``k`` is the largest power
  of two strictly below ``n``.

Generation works on leaf hashes (what the log stores); verification needs only the proof, the
sizes and the roots, so a Keep can run it without the log. Every verification failure is a
:class:`~sealog.errors.VerificationError`: a proof comes from an untrusted party, and anything that
does not check out is treated as forged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sealog.errors import FormatError, VerificationError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

#: Size of every hash in the tree (SHA-256).
HASH_SIZE = 32
#: The root of the empty tree, ``SHA-256("")``.
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one leaf (RFC 9162 2.1.1)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node (RFC 9162 2.1.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n`` >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash ``MTH`` over the given leaf hashes.

    Args:
        leaves: leaf hashes (already ``leaf_hash(data)``), in log order.

    Returns:
        The 32-byte root; :data:`EMPTY_ROOT` for no leaves.
    """
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root_hash(leaves[:k]), root_hash(leaves[k:]))


def _path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    # RFC 9162 2.1.3.1: PATH(m, D[n]).
    n = len(leaves)
    if n <= 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, leaves[:k]), root_hash(leaves[k:])]
    return [*_path(m - k, leaves[k:]), root_hash(leaves[:k])]


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int | None = None) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of the first ``size`` leaves.

    Args:
        leaves: every leaf hash of the log, in order.
        index: the leaf to prove, ``0 <= index < size``.
        size: the tree size the proof is for (default: all leaves).

    Returns:
        The audit path, leaf side first (RFC 9162 2.1.3.1).

    Raises:
        FormatError: ``index`` or ``size`` out of range.
    """
    size = len(leaves) if size is None else size
    if not 0 <= size <= len(leaves):
        raise _range_error(f"tree size {size} is outside the log (0..{len(leaves)})")
    if not 0 <= index < size:
        raise _range_error(f"leaf index {index} is not in a tree of size {size}")
    return _path(index, leaves[:size])


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    # RFC 9162 2.1.4.1: SUBPROOF(m, D[n], b).
    n = len(leaves)
    if m == n:
        return [] if complete else [root_hash(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root_hash(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root_hash(leaves[:k])]


def consistency_proof(leaves: Sequence[bytes], old: int, new: int | None = None) -> list[bytes]:
    """The proof that the tree of ``old`` leaves is a prefix of the tree of ``new`` leaves.

    Args:
        leaves: every leaf hash of the log, in order.
        old: the earlier tree size.
        new: the later tree size (default: all leaves), ``old <= new``.

    Returns:
        ``PROOF(old, D[new])`` (RFC 9162 2.1.4.1); empty when ``old`` is 0 or equals ``new``.

    Raises:
        FormatError: sizes out of range.
    """
    new = len(leaves) if new is None else new
    if not 0 <= new <= len(leaves):
        raise _range_error(f"tree size {new} is outside the log (0..{len(leaves)})")
    if not 0 <= old <= new:
        raise _range_error(f"old tree size {old} is not between 0 and {new}")
    if old in (0, new):
        return []
    return _subproof(old, leaves[:new], True)


def _range_error(message: str) -> FormatError:
    return FormatError(message)


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise VerificationError(f"{what} is {len(value)} bytes, expected {HASH_SIZE}")


def _check_proof(proof: Sequence[bytes]) -> None:
    for i, item in enumerate(proof):
        _check_hash(f"proof element {i}", item)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    Follows RFC 9162 2.1.3.2 step by step.

    Args:
        leaf: the leaf hash (``leaf_hash(data)``), not the data.
        index: the leaf's index.
        size: the tree size the proof is for.
        proof: the inclusion path.
        root: the expected root of the tree of ``size`` leaves.

    Raises:
        VerificationError: the proof does not show the leaf under the root.
    """
    _check_hash("leaf hash", leaf)
    _check_hash("root hash", root)
    _check_proof(proof)
    # Step 1: the leaf must be inside the tree.
    if index < 0 or index >= size:
        raise VerificationError(f"leaf index {index} is not in a tree of size {size}")
    # Step 2: fn walks the leaf's position, sn the last leaf's position, level by level.
    fn, sn = index, size - 1
    # Step 3.
    r = leaf
    # Step 4: fold the path into r.
    for p in proof:
        if sn == 0:
            raise VerificationError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                # fn is a right-edge node with no sibling at this level: climb until it has one.
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # Step 5: the path must reach the root exactly and hash to it.
    if sn != 0:
        raise VerificationError(
            f"inclusion proof has {len(proof)} elements, too few for a tree of size {size}"
        )
    if r != root:
        raise VerificationError(
            f"inclusion proof for leaf {index} of {size} does not lead to the tree head's root"
        )


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that the tree of ``old_size`` leaves is a prefix of the tree of ``new_size`` leaves.

    Follows RFC 9162 2.1.4.2 step by step. That algorithm presumes ``0 < old_size < new_size``;
    the cases outside it are settled first: equal sizes need an empty proof and equal roots, and
    a proof from the empty tree is refused (it would prove nothing; callers that hold a tree head
    of size 0 have nothing to check).

    Raises:
        VerificationError: the proof does not show consistency (the log forked or was rewritten).
    """
    if new_size < old_size:
        raise VerificationError(
            f"tree size went from {old_size} to {new_size}: a log never shrinks"
        )
    if old_size <= 0:
        raise VerificationError("a consistency proof from the empty tree proves nothing")
    if old_size == new_size:
        if proof:
            raise VerificationError(
                f"consistency proof between equal sizes must be empty, got {len(proof)} elements"
            )
        if old_root != new_root:
            raise VerificationError(f"two different roots for the same tree size {old_size}")
        return
    _check_proof(proof)
    # Step 1: a proof between different non-empty trees is never empty.
    if not proof:
        raise VerificationError(f"empty consistency proof from size {old_size} to {new_size}")
    path = list(proof)
    # Step 2: when the old tree is a complete subtree, its root is the proof's implicit start.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # Step 3.
    fn, sn = old_size - 1, new_size - 1
    # Step 4: skip the levels where the old tree's last node is a right child it shares.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5: both running roots start at the first path element.
    fr = sr = path[0]
    # Step 6: fold the rest of the path into the old (fr) and the new (sr) root.
    for c in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7: both roots must match and the path must have reached the top of the new tree.
    if sn != 0:
        raise VerificationError(
            f"consistency proof has too few elements for sizes {old_size} to {new_size}"
        )
    if fr != old_root:
        raise VerificationError(
            f"consistency proof does not lead to the old root (size {old_size}): log forked"
        )
    if sr != new_root:
        raise VerificationError(
            f"consistency proof does not lead to the new root (size {new_size}): log forked"
        )
