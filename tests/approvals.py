"""Two approvers, an audit log and the control policy that names them, made with the library:
what the tests that seal a change by order need."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sealog.audit import (
    AuditLog,
    ChangeOrder,
    OrderBundle,
    OrderInclusion,
    SigningKey,
    control_policy_digest,
    parse_control_policy,
)

__all__ = ["TwoApprovers"]


class TwoApprovers:
    """alice and bob, both needed for ``incident`` (at most ``max_duration``), and the log.

    Args:
        log: the audit log's folder (created).
        max_duration: the policy's longest incident, as the policy writes it.
    """

    def __init__(self, log: Path, max_duration: str = "1h") -> None:
        self.alice, self.bob, log_key = (SigningKey.generate() for _ in range(3))
        self.log = AuditLog.init(log, log_key)
        self.text = textwrap.dedent(
            f"""
            format = 1
            audit_log_key = "{log_key.public_key.to_text()}"
            [[approvers]]
            name = "alice"
            key = "{self.alice.public_key.to_text()}"
            [[approvers]]
            name = "bob"
            key = "{self.bob.public_key.to_text()}"
            [targets.incident]
            approvals = 2
            max_duration = "{max_duration}"
            """
        )
        self.digest = control_policy_digest(parse_control_policy(self.text))

    def bundle(
        self,
        keep: str,
        not_before: float,
        duration: float,
        *,
        reason: str = "test",
        flight_recorder: bool = False,
    ) -> dict[str, Any]:
        """An order to ``incident``, signed by both and appended to the log, as a bundle's
        JSON object."""
        order = ChangeOrder.create(
            keep=keep,
            profile="incident",
            not_before=datetime.fromtimestamp(int(not_before), UTC),
            duration=timedelta(seconds=duration),
            reason=reason,
            flight_recorder=flight_recorder,
        )
        order = order.sign(self.alice).sign(self.bob)
        result = self.log.append(order.entry_bytes())
        inclusion = OrderInclusion(
            result.leaf_index, tuple(result.inclusion_proof), result.tree_head
        )
        bundle: dict[str, Any] = json.loads(OrderBundle(order, inclusion).to_json())
        return bundle
