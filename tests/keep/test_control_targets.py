"""Change-order targets are bound to the policy's profile digests at launch (issue: break 4).

The host can plant a development-stage TOML under a target's name in the Keep's working folder.
The Keep must never use it: targets are read once at launch and checked against the digest the
control policy binds, and a switch hands the workload the bound text, not a name to look up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sealog.audit import AuditLog, ChangeOrder, OrderBundle, OrderInclusion, SigningKey
from sealog.audit._policy import parse_control_policy
from sealog.errors import FormatError, PolicyError
from sealog.keep._control_channel import ControlChannel
from sealog.keep._host_channel import HostChannel
from sealog.keep._targets import launch_text
from sealog.keep._workload import ENV_VAR
from sealog.profile import Profile, builtin_profile, builtin_text, parse_profile, profile_digest

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
APPROVED = builtin_text("testing").replace('name = "testing"', 'name = "custom-debug"', 1)
PLANTED = builtin_text("development").replace('name = "development"', 'name = "custom-debug"', 1)


def _policy_text(log: SigningKey, alice: SigningKey, digest: str | None) -> str:
    lines = [
        "format = 1",
        f'audit_log_key = "{log.public_key.to_text()}"',
        "[[approvers]]",
        'name = "alice"',
        f'key = "{alice.public_key.to_text()}"',
        "[targets.custom-debug]",
        "approvals = 1",
        'max_duration = "1h"',
    ]
    if digest is not None:
        lines.append(f'profile_digest = "{digest}"')
    return "\n".join(lines) + "\n"


class _Keep:
    """A control channel wired to recording callables, with its folder and an audit log."""

    def __init__(self, tmp_path: Path) -> None:
        self.log_key, self.alice = SigningKey.generate(), SigningKey.generate()
        digest = profile_digest(parse_profile(APPROVED, source="approved")).hex()
        self.policy = parse_control_policy(_policy_text(self.log_key, self.alice, digest))
        self.log = AuditLog.init(tmp_path / "log", self.log_key, clock=lambda: NOW)
        self.folder = tmp_path / "control"
        self.folder.mkdir()
        self.switched: list[tuple[Profile, str]] = []
        self.sealed: list[dict[str, Any]] = []

    def channel(self) -> ControlChannel:
        launch = builtin_profile("production")
        return ControlChannel(
            self.folder,
            self.policy,
            keep_id="keep-1",
            launch=(launch, "production"),
            switch=lambda p, text: self.switched.append((p, text)),
            dump_ring=lambda: None,
            seal=lambda level, message, fields: self.sealed.append(fields),
            host=HostChannel(None),
            clock=lambda: NOW + timedelta(seconds=1),
        )

    def deliver(self) -> None:
        order = ChangeOrder.create(
            keep="keep-1",
            profile="custom-debug",
            not_before=NOW,
            duration=timedelta(minutes=30),
            reason="debug",
        ).sign(self.alice)
        index, proof, sth = self.log.append(order.entry_bytes())
        bundle = OrderBundle(order, OrderInclusion(index, tuple(proof), sth))
        bundle.save(self.folder / "order.json")


def test_planted_profile_file_is_not_used_for_an_order_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The approved file is there at launch; the host swaps in a development profile under the
    same name before the order arrives: the Keep switches to the approved profile."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "custom-debug").write_text(APPROVED)
    keep = _Keep(tmp_path)
    channel = keep.channel()
    (tmp_path / "custom-debug").write_text(PLANTED)
    keep.deliver()
    channel.poll()
    ((profile, text),) = keep.switched
    assert text == APPROVED
    assert profile.stage.value == "testing"
    (event,) = keep.sealed
    assert event["event"] == "profile.changed"
    rule = keep.policy.target("custom-debug")
    assert rule is not None
    assert event["profile_digest"] == rule.profile_digest.hex()


def test_profile_planted_before_launch_is_refused_for_its_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "custom-debug").write_text(PLANTED)
    keep = _Keep(tmp_path)
    channel = keep.channel()
    keep.deliver()
    channel.poll()
    assert keep.switched == []
    (event,) = keep.sealed
    assert event["event"] == "order.refused"
    assert "the launch configuration binds" in event["reason"]


def test_policy_target_that_is_not_built_in_needs_a_profile_digest() -> None:
    text = _policy_text(SigningKey.generate(), SigningKey.generate(), None)
    with pytest.raises(FormatError, match="profile_digest: required"):
        parse_control_policy(text)


@pytest.mark.parametrize("kind", ["fifo", "symlink-to-fifo", "symlink-to-dev-zero"])
def test_fifo_in_control_folder_does_not_hang_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The host names a FIFO (or a link to one, or to /dev/zero) ``*.json`` in the control
    folder: polling passes over it at once, and a real order after it still applies."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "custom-debug").write_text(APPROVED)
    keep = _Keep(tmp_path)
    channel = keep.channel()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    target = {"fifo": None, "symlink-to-fifo": fifo, "symlink-to-dev-zero": Path("/dev/zero")}
    planted = keep.folder / "a-planted.json"
    link = target[kind]
    if link is None:
        os.mkfifo(planted)
    else:
        planted.symlink_to(link)
    keep.deliver()
    poller = threading.Thread(target=channel.poll, daemon=True)
    poller.start()
    poller.join(timeout=10)
    assert not poller.is_alive(), "poll() blocked on a planted file"
    assert [p.name for p, _ in keep.switched] == ["custom-debug"]


def test_launch_profile_file_swapped_after_launch_is_refused(tmp_path: Path) -> None:
    """The runtime hands the workload the launch profile's text; if the file no longer holds
    the profile the session was started (and attested) with, it refuses to go on."""
    path = tmp_path / "custom-debug"
    path.write_text(PLANTED)
    with pytest.raises(PolicyError, match="the launch configuration binds"):
        launch_text(parse_profile(APPROVED, source="launch"), str(path))
    path.write_text(APPROVED)
    assert launch_text(parse_profile(APPROVED, source="launch"), str(path)) == APPROVED


def test_workload_uses_the_launch_text_not_a_swapped_file(tmp_path: Path) -> None:
    """The workload's interpreter parses the text it was handed, whatever lies at the path."""
    path = tmp_path / "custom-debug"
    path.write_text(PLANTED)  # what the host put there after launch
    env = dict(os.environ)
    channel = str(tmp_path / "records.sock")  # the workload connects only when it logs
    env[ENV_VAR] = json.dumps({"socket": channel, "profile": str(path), "profile_toml": APPROVED})
    script = "from sealog.keep._workload import install; print(install().profile.stage.value)"
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "testing"
