"""Helpers for the control-process tests: a fixed clock, policy text, a scenario object."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sealog.audit import AuditLog, ChangeOrder, OrderInclusion, SigningKey
from sealog.audit._policy import ControlPolicy

#: The fixed "now" every control test runs at.
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@dataclass
class Control:
    """Everything one control-process scenario needs."""

    log_key: SigningKey
    alice: SigningKey
    bob: SigningKey
    carol: SigningKey
    log: AuditLog
    policy: ControlPolicy

    def order(self, **fields: object) -> ChangeOrder:
        """An unsigned order for Keep ``keep-1`` -> incident, valid from NOW for 1h."""
        args: dict[str, object] = {
            "keep": "keep-1",
            "profile": "incident",
            "not_before": NOW,
            "duration": timedelta(hours=1),
            "reason": "customer outage #42",
        }
        args.update(fields)
        return ChangeOrder.create(**args)  # type: ignore[arg-type]

    def logged(self, order: ChangeOrder) -> OrderInclusion:
        """Append ``order`` to the log and return its proof of inclusion."""
        index, proof, sth = self.log.append(order.entry_bytes())
        return OrderInclusion(index, tuple(proof), sth)


def policy_text(
    log_key: SigningKey,
    approvers: dict[str, SigningKey],
    targets: dict[str, tuple[int, str]],
) -> str:
    """Control policy TOML for the given keys and ``{target: (approvals, max_duration)}``."""
    lines = ["format = 1", f'audit_log_key = "{log_key.public_key.to_text()}"']
    for name, key in approvers.items():
        lines += ["[[approvers]]", f'name = "{name}"', f'key = "{key.public_key.to_text()}"']
    for name, (approvals, duration) in targets.items():
        lines += [f"[targets.{name}]", f"approvals = {approvals}", f'max_duration = "{duration}"']
    return "\n".join(lines) + "\n"
