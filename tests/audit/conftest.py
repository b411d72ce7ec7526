"""Fixtures for the control process: real Ed25519 keys, a real audit log folder, a policy."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from audithelp import NOW, Control, policy_text

from sealog.audit import AuditLog, SigningKey
from sealog.audit._policy import parse_control_policy


@pytest.fixture(scope="session")
def keys() -> dict[str, SigningKey]:
    """Long-lived keys (generating Ed25519 keys is cheap, but stable ids read better)."""
    return {name: SigningKey.generate() for name in ("log", "alice", "bob", "carol", "mallory")}


@pytest.fixture
def control(tmp_path: Path, keys: dict[str, SigningKey]) -> Control:
    """A policy (alice and bob approve; incident needs 2 for up to 2h) and an empty log."""
    policy = parse_control_policy(
        policy_text(
            keys["log"],
            {"alice": keys["alice"], "bob": keys["bob"], "carol": keys["carol"]},
            {"incident": (2, "2h"), "testing": (1, "1d")},
        ),
        source="policy.toml",
    )
    log = AuditLog.init(tmp_path / "log", keys["log"], clock=lambda: NOW)
    return Control(keys["log"], keys["alice"], keys["bob"], keys["carol"], log, policy)
