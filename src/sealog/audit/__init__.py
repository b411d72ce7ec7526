"""The control process: the control policy, an RFC 9162 audit log, signing keys, M-of-N orders,
session announcements.

A change order is created, signed by approvers, appended to the audit log (a Merkle tree log
with signed tree heads), and delivered to the Keep as a bundle with its proof of inclusion. The
Keep decides with :func:`check_order`, the single entry point for that decision.

A Keep whose policy asks for session announcements starts its workload only after
:func:`check_announcement` accepts the proof that its session is logged.
"""

from sealog.audit._announce import (
    ANNOUNCE_SUFFIX,
    TREE_HEAD_SKEW,
    AnnouncementBundle,
    SessionAnnouncement,
    announce_session,
    announcement_file,
    check_announcement,
    find_announcement,
)
from sealog.audit._inclusion import check_included
from sealog.audit._keys import SigningKey, write_key_pair
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
    format_time,
    order_digest,
)
from sealog.audit._policy import (
    CONTROL_FORMAT,
    DEFAULT_ANNOUNCE_WAIT,
    Approver,
    ControlPolicy,
    TargetRule,
    VerifyKey,
    control_policy_digest,
    format_duration,
    load_control_policy,
    parse_control_policy,
    parse_duration,
)

__all__ = [
    "ALL_KEEPS",
    "ANNOUNCE_SUFFIX",
    "CONTROL_FORMAT",
    "DEFAULT_ANNOUNCE_WAIT",
    "EMPTY_ROOT",
    "TREE_HEAD_SKEW",
    "AnnouncementBundle",
    "AppendResult",
    "Approver",
    "AuditLog",
    "ChangeOrder",
    "ControlPolicy",
    "LogVerification",
    "OrderApproval",
    "OrderBundle",
    "OrderInclusion",
    "OrderSignature",
    "SessionAnnouncement",
    "SignedTreeHead",
    "SigningKey",
    "TargetRule",
    "VerifyKey",
    "announce_session",
    "announcement_file",
    "check_announcement",
    "check_included",
    "check_order",
    "consistency_proof",
    "control_policy_digest",
    "find_announcement",
    "format_duration",
    "format_time",
    "inclusion_proof",
    "leaf_hash",
    "load_control_policy",
    "node_hash",
    "order_digest",
    "parse_control_policy",
    "parse_duration",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
    "write_key_pair",
]
