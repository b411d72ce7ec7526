"""Which profile was in force at every point of a session, and whether each change was allowed.

The Keep seals its control policy at session start and every profile change with the whole
order bundle behind it. The owner checks each change again, as the Keep should have: the sealed
policy must be the one the launch configuration (and so the attestation) names, the order
must pass :func:`sealog.audit.check_order` at the time the change was sealed, and the digest of
the profile switched to must be the one the policy binds to the order's target.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sealog.errors import Error
from sealog.seal._header import Header
from sealog.seal._records import Record
from sealog.seal._vocabulary import (
    CONTROL_LOGGER,
    EVENT_CONTROL_POLICY,
    EVENT_PROFILE_CHANGED,
    EVENT_PROFILE_REVERTED,
)

if TYPE_CHECKING:
    from sealog.audit import SignedTreeHead
    from sealog.audit._policy import ControlPolicy

__all__ = ["ProfileSpan", "TimelineChecker"]

#: The Keep checks for expiry a few times a second; allow for that and for the last flush.
_REVERT_SLACK = 2.0


@dataclass(frozen=True)
class ProfileSpan:
    """From ``seq`` (and ``time``) on, ``profile`` was in force.

    Attributes:
        seq: the frame where the span starts.
        time: when it started (the Keep's clock).
        profile: the profile's name.
        cause: ``launch``, ``order`` or ``expiry``.
        order: the order's digest (hex) for ``order`` and ``expiry``.
        approvers: who approved the order.
        expires: when the order's window ends (ISO 8601).
    """

    seq: int
    time: float
    profile: str
    cause: str
    order: str | None = None
    approvers: tuple[str, ...] = ()
    expires: str | None = None

    def describe(self) -> str:
        """One line for people."""
        when = datetime.fromtimestamp(self.time, UTC).strftime("%H:%M:%S")
        if self.cause == "launch":
            return f"{when} {self.profile} (launch)"
        if self.cause == "order":
            who = ", ".join(self.approvers)
            return f"{when} {self.profile} by order {self.order} ({who}) until {self.expires}"
        return f"{when} {self.profile} (order {self.order} expired)"


class TimelineChecker:
    """Follows a session's records and checks its profile changes."""

    def __init__(self, header: Header) -> None:
        self._header = header
        self.current = header.profile_name
        self.spans: list[ProfileSpan] = [
            ProfileSpan(0, header.created, header.profile_name, "launch")
        ]
        self.problems: list[str] = []
        self._policy: ControlPolicy | None = None
        self._nonces: set[str] = set()
        self._last_tree_head: SignedTreeHead | None = None
        self._active: tuple[str, datetime] | None = None
        self._last_time = header.created

    def observe(self, record: Record) -> None:
        """Take the next record."""
        self._last_time = max(self._last_time, record.time)
        if record.source != "sealog" or record.logger != CONTROL_LOGGER:
            return
        fields: dict[str, Any] = dict(record.fields)
        event = fields.get("event")
        if event == EVENT_CONTROL_POLICY:
            self._take_policy(fields)
        elif event == EVENT_PROFILE_CHANGED:
            self._take_change(record, fields)
        elif event == EVENT_PROFILE_REVERTED:
            self._take_revert(record, fields)

    def observe_time(self, time: float) -> None:
        """Take the latest time of records that are not the ``sealog`` source's (all that
        :meth:`observe` does with those), for readers that make no :class:`Record` of them."""
        self._last_time = max(self._last_time, time)

    def _take_policy(self, fields: dict[str, Any]) -> None:
        # The audit package loads only for a session that carries a control policy: reading a
        # session without one does not pay for it.
        from sealog.audit._policy import (  # noqa: PLC0415
            control_policy_digest,
            parse_control_policy,
        )

        try:
            policy = parse_control_policy(str(fields.get("policy", "")), source="sealed policy")
        except Error as exc:
            self.problems.append(f"sealed control policy does not parse: {exc}")
            return
        if control_policy_digest(policy) != self._header.launch.control_digest:
            self.problems.append("sealed control policy is not the launch configuration's")
            return
        self._policy = policy

    def _take_change(self, record: Record, fields: dict[str, Any]) -> None:
        profile = str(fields.get("profile"))
        if self._policy is None:
            self.problems.append(
                f"frame {record.seq}: profile changed to {profile} without a control policy"
            )
        else:
            from sealog.audit import OrderBundle, check_order  # noqa: PLC0415 - see _take_policy

            try:
                bundle = OrderBundle.from_json(json.dumps(fields.get("bundle")))
                approval = check_order(
                    bundle.order,
                    self._policy,
                    keep_id=self._header.keep_id,
                    now=datetime.fromtimestamp(record.time, UTC),
                    seen_nonces=self._nonces,
                    inclusion=bundle.inclusion,
                    last_tree_head=self._last_tree_head,
                )
            except Error as exc:
                self.problems.append(
                    f"frame {record.seq}: profile changed to {profile} without a valid order: {exc}"
                )
            else:
                if approval.target != profile:
                    self.problems.append(
                        f"frame {record.seq}: order is for {approval.target}, "
                        f"but the profile changed to {profile}"
                    )
                rule = self._policy.target(approval.target)
                sealed_digest = str(fields.get("profile_digest"))
                if rule is None or sealed_digest != rule.profile_digest.hex():
                    self.problems.append(
                        f"frame {record.seq}: profile {profile} has digest "
                        f"{sealed_digest[:16]}…, not the one the control policy binds"
                    )
                self._nonces.add(approval.nonce)
                self._last_tree_head = bundle.inclusion.tree_head
                self._active = (approval.digest.hex()[:16], approval.expires)
                self.spans.append(
                    ProfileSpan(
                        record.seq,
                        record.time,
                        profile,
                        "order",
                        approval.digest.hex()[:16],
                        approval.approvers,
                        approval.expires.isoformat(),
                    )
                )
        self.current = profile

    def _take_revert(self, record: Record, fields: dict[str, Any]) -> None:
        profile = str(fields.get("profile"))
        if (
            profile != self._header.profile_name
            or fields.get("profile_digest") != self._header.profile_digest.hex()
        ):
            self.problems.append(
                f"frame {record.seq}: reverted to {profile}, not the launch profile"
            )
        order = self._active[0] if self._active else None
        if self._active and datetime.fromtimestamp(record.time, UTC) < self._active[1]:
            self.problems.append(f"frame {record.seq}: reverted before the order's window ended")
        self._active = None
        self.current = profile
        self.spans.append(ProfileSpan(record.seq, record.time, profile, "expiry", order))

    def finish(self) -> list[str]:
        """Problems found, including an order still in force past its window at the end."""
        late = datetime.fromtimestamp(self._last_time - _REVERT_SLACK, UTC)
        if self._active and late > self._active[1]:
            self.problems.append(
                f"order {self._active[0]} expired at {self._active[1].isoformat()} "
                "but the Keep did not revert"
            )
            self._active = None
        return self.problems
