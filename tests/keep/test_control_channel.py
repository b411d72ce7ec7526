"""The Keep's side of the control process, driven by an injected clock: no thread, no sleep.

Each attack on the control folder is refused, sealed with its reason and told to the host as a
generic code; an approved order switches the profile and reverts exactly when its window ends.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from audithelp import NOW, Control

from sealog.audit import AuditLog, OrderBundle, SigningKey
from sealog.keep._control_channel import ControlChannel
from sealog.keep._host_channel import HostChannel
from sealog.profile import Profile, builtin_profile


class Keep:
    """What the channel acts on: the profile in force, sealed records, host events."""

    def __init__(self, tmp_path: Path, control: Control) -> None:
        self.folder = tmp_path / "orders"
        self.folder.mkdir()
        self.now = NOW
        self.profile = "production"
        self.sealed: list[dict[str, Any]] = []
        self.rings = 0
        self.out = io.StringIO()
        self.channel = ControlChannel(
            self.folder,
            control.policy,
            keep_id="keep-1",
            launch=(builtin_profile("production"), "production"),
            switch=self._switch,
            dump_ring=self._ring,
            seal=lambda level, message, fields: self.sealed.append(fields),
            host=HostChannel(self.out, session="ab" * 16),
            clock=lambda: self.now,
        )

    def _switch(self, profile: Profile, text: str) -> None:
        # The workload is handed the profile's bound TOML text, never a name to look up.
        assert text
        self.profile = profile.name

    def _ring(self) -> None:
        self.rings += 1

    def deliver(self, bundle: OrderBundle, name: str) -> None:
        (self.folder / name).write_text(bundle.to_json())

    def events(self) -> list[str]:
        self.channel._host.flush()
        return [json.loads(line)["event"] for line in self.out.getvalue().splitlines()]

    def sealed_events(self) -> list[str]:
        return [str(f.get("event")) for f in self.sealed]


def _bundle(control: Control, *signers: SigningKey, **fields: object) -> OrderBundle:
    order = control.order(**fields)
    for key in signers:
        order = order.sign(key)
    return OrderBundle(order, control.logged(order))


def test_approved_order_applies_then_reverts_exactly_when_its_window_ends(
    tmp_path: Path, control: Control
) -> None:
    keep = Keep(tmp_path, control)
    keep.deliver(_bundle(control, control.alice, control.bob, flight_recorder=True), "o.json")
    keep.channel.poll()
    assert keep.profile == "incident"
    assert keep.rings == 1
    keep.now = NOW + timedelta(hours=1) - timedelta(seconds=1)
    keep.channel.poll()
    assert keep.profile == "incident"  # one second before the end: still in force
    keep.now = NOW + timedelta(hours=1)
    keep.channel.poll()
    assert keep.profile == "production"
    assert keep.sealed_events() == ["profile.changed", "profile.reverted"]
    assert keep.events() == ["keep.profile_changed", "keep.profile_reverted"]


def _outsider_policy(control: Control, keys: dict[str, SigningKey]) -> None:
    """Swap in a log whose key the policy does not trust (an order logged elsewhere)."""
    control.log = AuditLog.init(control.log.directory.parent / "rogue", keys["mallory"])


@pytest.mark.parametrize(
    ("attack", "reason"),
    [
        ("one of two approvers", "signed by 1 of 2 required approvers"),
        ("approver not in policy", "signed by 1 of 2 required approvers"),
        ("order for another keep", "is for Keep 'keep-2'"),
        ("order logged in a log the policy does not trust", "tree head is not signed"),
        ("order not yet valid", "not valid before"),
        ("target the policy does not allow", "staging"),
    ],
)
def test_refused_order_changes_nothing_and_is_sealed_with_its_reason(
    tmp_path: Path, control: Control, keys: dict[str, SigningKey], attack: str, reason: str
) -> None:
    keep = Keep(tmp_path, control)
    signers: tuple[SigningKey, ...] = (control.alice, control.bob)
    fields: dict[str, object] = {}
    if attack == "one of two approvers":
        signers = (control.alice,)
    elif attack == "approver not in policy":
        signers = (control.alice, keys["mallory"])
    elif attack == "order for another keep":
        fields["keep"] = "keep-2"
    elif attack == "order logged in a log the policy does not trust":
        _outsider_policy(control, keys)
    elif attack == "order not yet valid":
        fields["not_before"] = NOW + timedelta(minutes=5)
    else:
        fields["profile"] = "staging"
    keep.deliver(_bundle(control, *signers, **fields), "o.json")
    keep.channel.poll()
    assert keep.profile == "production"
    (refused,) = keep.sealed
    assert refused["event"] == "order.refused"
    assert reason in refused["reason"]
    assert keep.events() == ["keep.order_refused"]
    assert reason not in keep.out.getvalue()  # the host gets a code, never the reason


def test_replayed_bundle_under_another_name_is_refused(tmp_path: Path, control: Control) -> None:
    keep = Keep(tmp_path, control)
    bundle = _bundle(control, control.alice, control.bob)
    keep.deliver(bundle, "o1.json")
    keep.channel.poll()
    keep.deliver(bundle, "o2.json")
    keep.channel.poll()
    assert keep.sealed_events() == ["profile.changed", "order.refused"]
    assert "already used" in keep.sealed[1]["reason"]


def test_malformed_bundle_is_refused_and_the_next_good_one_still_applies(
    tmp_path: Path, control: Control
) -> None:
    keep = Keep(tmp_path, control)
    (keep.folder / "a.json").write_text('{"order": ')
    keep.deliver(_bundle(control, control.alice, control.bob), "b.json")
    keep.channel.poll()
    assert keep.sealed_events() == ["order.refused", "profile.changed"]
    assert keep.profile == "incident"
