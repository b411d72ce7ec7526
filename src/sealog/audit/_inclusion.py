"""The one check that an entry is in the audit log the control policy names.

Change orders and session announcements are both accepted only with a proof that their exact
entry bytes are in the log, under a tree head signed with the policy's ``audit_log_key``. The two
steps live here once so that the order path and the announcement path cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from sealog.audit._log import SignedTreeHead
from sealog.audit._merkle import leaf_hash, verify_inclusion
from sealog.audit._policy import VerifyKey
from sealog.errors import PolicyError, VerificationError

__all__ = ["check_entry_proof", "check_included", "check_tree_head"]


def check_included(
    entry: bytes,
    *,
    leaf_index: int,
    proof: Sequence[bytes],
    tree_head: SignedTreeHead,
    log_key: VerifyKey,
    what: str,
) -> None:
    """Check that ``entry`` is at ``leaf_index`` of the log under a tree head signed by ``log_key``.

    1. the tree head's signature verifies with ``log_key`` (:func:`check_tree_head`);
    2. the RFC 9162 inclusion proof (2.1.3.2) shows ``leaf_hash(entry)`` at ``leaf_index``
       under the tree head's root (:func:`check_entry_proof`).

    A caller with checks of its own on the tree head (freshness) runs the two steps apart.

    Args:
        entry: the entry bytes exactly as the log stores them.
        leaf_index: where the log holds them.
        proof: the inclusion path for the tree head's size.
        tree_head: the signed tree head the proof leads to.
        log_key: the audit log key the control policy names.
        what: what the entry is, for messages ("change order", "session announcement").

    Raises:
        PolicyError: either step fails; the :class:`~sealog.errors.VerificationError` behind it
            is chained as the cause.
    """
    check_tree_head(tree_head, log_key)
    check_entry_proof(entry, leaf_index=leaf_index, proof=proof, tree_head=tree_head, what=what)


def check_tree_head(tree_head: SignedTreeHead, log_key: VerifyKey) -> None:
    """Step 1: the tree head must come from the audit log the policy names.

    Raises:
        PolicyError: the signature does not verify with ``log_key``.
    """
    try:
        tree_head.verify(log_key)
    except VerificationError as exc:
        raise PolicyError(
            f"audit log tree head is not signed by the policy's audit log key {log_key.key_id}"
        ) from exc


def check_entry_proof(
    entry: bytes,
    *,
    leaf_index: int,
    proof: Sequence[bytes],
    tree_head: SignedTreeHead,
    what: str,
) -> None:
    """Step 2: exactly these bytes are at ``leaf_index`` under the (verified) tree head's root.

    Raises:
        PolicyError: the inclusion proof does not verify.
    """
    try:
        verify_inclusion(leaf_hash(entry), leaf_index, tree_head.size, proof, tree_head.root_hash)
    except VerificationError as exc:
        raise PolicyError(
            f"{what} is not proven included in the audit log (leaf {leaf_index} "
            f"of tree size {tree_head.size}): {exc}"
        ) from exc
