"""The control process: an RFC 9162 audit log, signing keys, and M-of-N change orders.

A change order is created, signed by approvers, appended to the audit log (a Merkle tree log
with signed tree heads), and delivered to the Keep as a bundle with its proof of inclusion. The
Keep decides with :func:`check_order`, the single entry point for that decision.
"""

from sealog.audit._keys import SigningKey, VerifyKey, write_key_pair
from sealog.audit._log import AppendResult, AuditLog, LogVerification, SignedTreeHead
from sealog.audit._merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from sealog.audit._orders import (
    ALL_KEEPS,
    ChangeOrder,
    OrderApproval,
    OrderBundle,
    OrderInclusion,
    OrderSignature,
    check_order,
    order_digest,
)

__all__ = [
    "ALL_KEEPS",
    "EMPTY_ROOT",
    "AppendResult",
    "AuditLog",
    "ChangeOrder",
    "LogVerification",
    "OrderApproval",
    "OrderBundle",
    "OrderInclusion",
    "OrderSignature",
    "SignedTreeHead",
    "SigningKey",
    "VerifyKey",
    "check_order",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "order_digest",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
    "write_key_pair",
]
