"""The owner's verify proves which profile was in force, and rejects a change without a valid
order behind it (promise 5). The sessions here are written through the library, the way a Keep
whose runtime misbehaved would write them."""

from __future__ import annotations

import json
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

import pytest

from sealog.audit import AuditLog, ChangeOrder, OrderBundle, OrderInclusion, SigningKey
from sealog.audit._policy import control_policy_digest, parse_control_policy
from sealog.host._store import Store
from sealog.keep._session import SealedSession
from sealog.owner import verify_store
from sealog.profile import builtin_profile, profile_digest
from sealog.seal import Row
from sealog.seal._header import LaunchConfig
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._writer import start_session
from streams import none_evidence, plain_profile


class TimelineControl(TypedDict):
    """Two approvers, the control policy naming them, and the audit log orders go into."""

    alice: SigningKey
    bob: SigningKey
    text: str
    log: AuditLog


@pytest.fixture
def control(tmp_path: Path) -> TimelineControl:
    alice, bob, log_key = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    text = textwrap.dedent(
        f"""
        format = 1
        audit_log_key = "{log_key.public_key.to_text()}"
        [[approvers]]
        name = "alice"
        key = "{alice.public_key.to_text()}"
        [[approvers]]
        name = "bob"
        key = "{bob.public_key.to_text()}"
        [targets.incident]
        approvals = 2
        max_duration = "1h"
        """
    )
    log = AuditLog.init(tmp_path / "log", log_key)
    return {"alice": alice, "bob": bob, "text": text, "log": log}


def bundle_json(
    control: TimelineControl, *signers: SigningKey, seconds: int = 600, start: float | None = None
) -> dict[str, Any]:
    begin = datetime.fromtimestamp(int(start or time.time()), UTC) - timedelta(seconds=1)
    order = ChangeOrder.create(
        keep="keep",
        profile="incident",
        not_before=begin,
        duration=timedelta(seconds=seconds),
        reason="test",
    )
    for key in signers:
        order = order.sign(key)
    result = control["log"].append(order.entry_bytes())
    bundle = OrderBundle(
        order, OrderInclusion(result.leaf_index, tuple(result.inclusion_proof), result.tree_head)
    )
    parsed: dict[str, Any] = json.loads(bundle.to_json())
    return parsed


def write_session(
    tmp_path: Path,
    key: OwnerPrivateKey,
    control: TimelineControl,
    rows: list[tuple[float, dict[str, Any]]],
    *,
    policy_text: str | None = None,
) -> Path:
    prof = plain_profile()
    policy = parse_control_policy(control["text"])
    launch = LaunchConfig(
        "test",
        "production",
        b"\x11" * 32,
        key.public_key.key_id,
        control_policy_digest(policy),
    )
    header, sealer = start_session(key.public_key, launch, none_evidence)
    store = tmp_path / "store"
    sealed = SealedSession(
        sealer, Store.create(store).new_session(header), prof.owner, prof.stream, start=False
    )
    now = time.time()
    text = control["text"] if policy_text is None else policy_text
    digest = control_policy_digest(parse_control_policy(text)).hex()
    sealed.submit(
        Row(
            now,
            30,
            "sealog",
            "sealog.control",
            "control policy in force",
            None,
            None,
            {"event": "control.policy", "digest": digest, "policy": text},
        )
    )
    for offset, fields in rows:
        sealed.submit(Row(now + offset, 30, "sealog", "sealog.control", "x", None, None, fields))
    sealed.close()
    return store


def changed(bundle: dict[str, Any], digest: str | None = None) -> dict[str, Any]:
    digest = digest or profile_digest(builtin_profile("incident")).hex()
    return {
        "event": "profile.changed",
        "profile": "incident",
        "profile_digest": digest,
        "bundle": bundle,
    }


def reverted() -> dict[str, Any]:
    return {"event": "profile.reverted", "profile": "test", "profile_digest": "11" * 32}


def test_change_with_a_valid_order_is_in_the_timeline(
    tmp_path: Path, owner_key: OwnerPrivateKey, control: TimelineControl
) -> None:
    bundle = bundle_json(control, control["alice"], control["bob"])
    store = write_session(tmp_path, owner_key, control, [(1, changed(bundle))])
    (verdict,) = verify_store(store, owner_key)
    assert verdict.ok, verdict.message
    assert [s.profile for s in verdict.timeline] == ["test", "incident"]
    assert verdict.timeline[1].approvers == ("alice", "bob")


def test_change_signed_by_one_of_two_is_a_policy_violation(
    tmp_path: Path, owner_key: OwnerPrivateKey, control: TimelineControl
) -> None:
    bundle = bundle_json(control, control["alice"])
    store = write_session(tmp_path, owner_key, control, [(1, changed(bundle))])
    (verdict,) = verify_store(store, owner_key)
    assert verdict.status == "policy-violation"
    assert "signed by 1 of 2 required approvers" in verdict.message


def test_change_after_the_order_expired_is_a_policy_violation(
    tmp_path: Path, owner_key: OwnerPrivateKey, control: TimelineControl
) -> None:
    bundle = bundle_json(control, control["alice"], control["bob"], seconds=5)
    store = write_session(tmp_path, owner_key, control, [(60, changed(bundle))])
    (verdict,) = verify_store(store, owner_key)
    assert verdict.status == "policy-violation"
    assert "expired" in verdict.message


def test_keep_that_never_reverts_is_a_policy_violation(
    tmp_path: Path, owner_key: OwnerPrivateKey, control: TimelineControl
) -> None:
    bundle = bundle_json(control, control["alice"], control["bob"], seconds=5)
    store = write_session(
        tmp_path, owner_key, control, [(1, changed(bundle)), (60, {"event": "heartbeat"})]
    )
    (verdict,) = verify_store(store, owner_key)
    assert verdict.status == "policy-violation"
    assert "did not revert" in verdict.message


def test_timely_revert_is_accepted(
    tmp_path: Path, owner_key: OwnerPrivateKey, control: TimelineControl
) -> None:
    bundle = bundle_json(control, control["alice"], control["bob"], seconds=5)
    store = write_session(tmp_path, owner_key, control, [(1, changed(bundle)), (4.5, reverted())])
    (verdict,) = verify_store(store, owner_key)
    assert verdict.ok, verdict.message
    assert [s.cause for s in verdict.timeline] == ["launch", "order", "expiry"]


def test_sealed_policy_other_than_the_launched_one_is_rejected(
    tmp_path: Path, owner_key: OwnerPrivateKey, control: TimelineControl
) -> None:
    other = control["text"].replace("approvals = 2", "approvals = 1")
    bundle = bundle_json(control, control["alice"])
    store = write_session(tmp_path, owner_key, control, [(1, changed(bundle))], policy_text=other)
    (verdict,) = verify_store(store, owner_key)
    assert verdict.status == "policy-violation"
    assert "not the launch configuration's" in verdict.message


def test_switch_to_a_profile_other_than_the_policys_digest_is_a_policy_violation(
    tmp_path: Path, owner_key: OwnerPrivateKey, control: TimelineControl
) -> None:
    """A Keep that switched to a look-alike ``incident`` (say, one the host planted) seals its
    digest; verify holds it against the digest the control policy binds to the target."""
    bundle = bundle_json(control, control["alice"], control["bob"])
    planted = profile_digest(builtin_profile("development")).hex()
    store = write_session(tmp_path, owner_key, control, [(1, changed(bundle, planted))])
    (verdict,) = verify_store(store, owner_key)
    assert verdict.status == "policy-violation"
    assert "not the one the control policy binds" in verdict.message
