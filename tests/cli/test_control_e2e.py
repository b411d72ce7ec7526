"""The control process end to end with a real ``sealog run``: production, an approved incident
order raises verbosity for a short window, the owner reads DEBUG records for that window only,
and the Keep reverts on time. Refused orders change nothing and are sealed with their reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from clihelp import SEALOG, fast_profile, sealog

from approvals import TwoApprovers
from sealog.audit import ChangeOrder, OrderBundle, OrderInclusion, SigningKey

WORKLOAD = textwrap.dedent(
    """
    import logging, sys, time
    log = logging.getLogger("svc")
    end = time.monotonic() + float(sys.argv[1])
    i = 0
    while time.monotonic() < end:
        log.debug("debug tick %d", i)
        if i % 10 == 0:
            log.warning("warn tick %d", i)
        i += 1
        time.sleep(0.05)
    """
)


class Control:
    """Approvers, an audit log and a control policy, made with the library."""

    def __init__(self, root: Path) -> None:
        self.root = root
        approvers = TwoApprovers(root / "log", max_duration="10m")
        self.alice, self.bob, self.log = approvers.alice, approvers.bob, approvers.log
        self.mallory = SigningKey.generate()
        self.policy = root / "policy.toml"
        self.policy.write_text(approvers.text)
        self.orders = root / "orders"
        self.orders.mkdir()

    def bundle(
        self, *signers: SigningKey, keep: str = "k1", seconds: int = 3, log: bool = True
    ) -> OrderBundle:
        order = ChangeOrder.create(
            keep=keep,
            profile="incident",
            not_before=datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1),
            duration=timedelta(seconds=seconds),
            reason="payments failing in eu-1",
            flight_recorder=True,
        )
        for key in signers:
            order = order.sign(key)
        if log:
            result = self.log.append(order.entry_bytes())
        else:  # a tree head that does not contain the order
            result = self.log.append(b"some other entry")
        inclusion = OrderInclusion(
            result.leaf_index, tuple(result.inclusion_proof), result.tree_head
        )
        return OrderBundle(order, inclusion)

    def deliver(self, bundle: OrderBundle, name: str) -> None:
        bundle.save(self.orders / name)


def _run(
    tmp_path: Path, owner: tuple[Path, Path], control: Control, seconds: float
) -> subprocess.Popen[str]:
    _, pub = owner
    script = tmp_path / "w.py"
    script.write_text(WORKLOAD)
    prof = fast_profile(tmp_path, "production", 0.1)
    return subprocess.Popen(
        [
            *SEALOG,
            "run",
            "--owner",
            str(pub),
            "--profile",
            str(prof),
            "--store",
            str(tmp_path / "st"),
            "--keep-id",
            "k1",
            "--control-policy",
            str(control.policy),
            "--control",
            str(control.orders),
            "--",
            sys.executable,
            str(script),
            str(seconds),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )


def _records(tmp_path: Path, key: Path) -> list[dict[str, Any]]:
    done = sealog("read", tmp_path / "st", "--key", key, "--json")
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_approved_order_raises_verbosity_for_its_window_only(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    key, _ = owner
    control = Control(tmp_path)
    proc = _run(tmp_path, owner, control, 6.0)
    time.sleep(1.5)
    control.deliver(control.bundle(control.alice, control.bob, seconds=3), "o1.json")
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    events = [json.loads(line)["event"] for line in stderr.splitlines()]
    assert "keep.profile_changed" in events
    assert events.index("keep.profile_reverted") > events.index("keep.profile_changed")

    records = _records(tmp_path, key)
    changed = next(r for r in records if r["fields"].get("event") == "profile.changed")
    reverted = next(r for r in records if r["fields"].get("event") == "profile.reverted")
    assert changed["fields"]["approvers"] == ["alice", "bob"]
    window = (changed["time"], reverted["time"])
    expires = datetime.fromisoformat(changed["fields"]["expires"]).timestamp()
    assert expires <= reverted["time"] <= expires + 0.6  # reverted by itself, on time
    ring = next(r for r in records if r["fields"].get("event") == "ring.sealed")
    assert ring["fields"]["records"] > 0  # the moments before the order, from the recorder
    debug_live = [
        r
        for r in records
        if r["level"] == "DEBUG" and r["source"] == "workload" and r["time"] > changed["time"]
    ]
    assert debug_live
    # No DEBUG record was logged outside the window (the ring's are from before the order).
    assert all(r["time"] < window[1] + 0.3 for r in debug_live)
    assert {r["profile"] for r in debug_live} == {"incident"}
    # The recorder's records arrive after the change but were logged before it, under the
    # launch profile: they are tagged with that one.
    released = [
        r
        for r in records
        if r["level"] == "DEBUG" and r["source"] == "workload" and r["time"] < changed["time"]
    ]
    assert released
    assert {r["profile"] for r in released} == {records[0]["profile"]} != {"incident"}

    verify = sealog("verify", tmp_path / "st", "--key", key)
    assert verify.returncode == 0
    assert "incident by order" in verify.stdout
    assert "expired" in verify.stdout


def test_refused_order_changes_nothing_and_is_sealed(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    """End to end through ``sealog run``; every other refusal is covered, clock-driven, in
    tests/keep/test_control_channel.py."""
    key, _ = owner
    control = Control(tmp_path)
    control.deliver(control.bundle(control.alice), "o.json")  # one of two approvers
    proc = _run(tmp_path, owner, control, 1.0)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "keep.order_refused" in stderr
    assert "1 of 2" not in stderr  # the host gets a code, never the reason
    records = _records(tmp_path, key)
    (refused,) = [r for r in records if r["fields"].get("event") == "order.refused"]
    assert "signed by 1 of 2 required approvers" in refused["fields"]["reason"]
    assert not any(r["fields"].get("event") == "profile.changed" for r in records)
    assert not any(r["level"] == "DEBUG" for r in records)
    assert sealog("verify", tmp_path / "st", "--key", key).returncode == 0


def test_fifo_in_control_folder_does_not_hang_sealog_run(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    """The host names a FIFO ``*.json`` in the control folder before the Keep starts: ``run``
    passes over it and ends with its workload (it used to block on the FIFO forever)."""
    key, _ = owner
    control = Control(tmp_path)
    os.mkfifo(control.orders / "stuck.json")
    proc = _run(tmp_path, owner, control, 0.5)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert sealog("verify", tmp_path / "st", "--key", key).returncode == 0
