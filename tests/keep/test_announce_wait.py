"""The Keep's wait for its announcement, driven by an injected clock (no real waiting)."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sealog.audit import (
    AuditLog,
    SigningKey,
    announce_session,
    announcement_file,
    parse_control_policy,
)
from sealog.host import Store
from sealog.keep._announce import STATUS_REFUSED, STATUS_TIMEOUT, await_announcement
from sealog.keep._control_channel import ControlChannel
from sealog.keep._host_channel import HostChannel
from sealog.keep._session import SealedSession
from sealog.owner import read_store
from sealog.profile import builtin_profile
from sealog.seal import LaunchConfig, OwnerPrivateKey
from sealog.seal._writer import start_session
from streams import none_evidence, plain_profile


class FakeTime:
    """A monotonic clock that moves only when the Keep sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds


class Keep:
    """A sealed session in a store, a host channel, a policy and a control folder."""

    def __init__(self, tmp_path: Path, owner: OwnerPrivateKey, wait: str = "3s") -> None:
        self.log_key = SigningKey.generate()
        self.log = AuditLog.init(tmp_path / "log", self.log_key)
        self.policy = parse_control_policy(
            "format = 1\n"
            f'audit_log_key = "{self.log_key.public_key.to_text()}"\n'
            f'announce_sessions = true\nannounce_wait = "{wait}"\n'
            "approvers = []\n[targets]\n"
        )
        launch = LaunchConfig("test", "production", b"\x11" * 32, owner.public_key.key_id)
        self.header, sealer = start_session(owner.public_key, launch, none_evidence)
        self.store = tmp_path / "store"
        prof = plain_profile()
        sink = Store.create(self.store).new_session(self.header)
        self.sealed = SealedSession(sealer, sink, prof.owner, prof.stream, start=False)
        self.out = io.StringIO()
        self.host = HostChannel(self.out, session=self.header.session_hex)
        self.folder = tmp_path / "control"
        self.folder.mkdir()
        self.time = FakeTime()

    def wait(self, deliver_after: int | None = None, bundle_text: str | None = None) -> int | None:
        def sleep(seconds: float) -> None:
            self.time.sleep(seconds)
            if self.time.sleeps == deliver_after:
                path = announcement_file(self.folder, self.header.session_hex)
                if bundle_text is None:
                    announce_session(self.log, self.header).save(path)
                else:
                    path.write_text(bundle_text)

        return await_announcement(
            self.header,
            self.folder,
            self.policy,
            self.sealed,
            self.host,
            clock=lambda: datetime.now(UTC),
            monotonic=self.time.monotonic,
            sleep=sleep,
        )

    def events(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.out.getvalue().splitlines()]


def test_keep_waits_until_its_bundle_arrives_then_seals_it(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    keep = Keep(tmp_path, owner_key)
    assert keep.wait(deliver_after=5) is None
    assert keep.time.sleeps == 5  # it looked again after each pause, and went on at once
    events = [e["event"] for e in keep.events()]
    assert events == ["keep.announce_wanted", "keep.announced"]
    assert keep.events()[0]["digest"] == keep.header.digest.hex()
    keep.sealed.close()
    fields = [r.fields for _, r in read_store(keep.store, owner_key)]
    assert fields[0]["event"] == "session.announced"
    assert fields[0]["bundle"]["announcement"]["header_digest"] == keep.header.digest.hex()


def test_keep_gives_up_at_the_wait_limit_and_never_starts(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    keep = Keep(tmp_path, owner_key, wait="3s")
    assert keep.wait() == STATUS_TIMEOUT
    assert 3.0 <= keep.time.now < 3.2  # the limit, measured on the injected clock
    assert keep.sealed.closed
    failed = keep.events()[-1]
    assert failed["event"] == "keep.failed"
    assert failed["code"] == "announce.timeout"
    assert failed["status"] == STATUS_TIMEOUT
    records = [r for _, r in read_store(keep.store, owner_key)]
    assert records[0].fields["event"] == "announce.timeout"


def test_garbage_in_the_announcement_file_is_refused(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    keep = Keep(tmp_path, owner_key)
    assert keep.wait(deliver_after=1, bundle_text="{not json") == STATUS_REFUSED
    assert keep.events()[-1]["code"] == "announce.refused"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_planted_as_the_announcement_file_does_not_hang_the_keep(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    keep = Keep(tmp_path, owner_key, wait="1s")
    os.mkfifo(announcement_file(keep.folder, keep.header.session_hex))
    assert keep.wait() == STATUS_TIMEOUT


def test_order_follower_leaves_announcement_bundles_in_the_control_folder_alone(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    """Both share the folder: a bundle for the Keep's start is never taken for an order."""
    keep = Keep(tmp_path, owner_key)
    announce_session(keep.log, keep.header).save(
        announcement_file(keep.folder, keep.header.session_hex)
    )
    sealed: list[object] = []
    channel = ControlChannel(
        keep.folder,
        keep.policy,
        keep_id="k1",
        launch=(builtin_profile("production"), "production"),
        switch=lambda profile, ref: None,
        dump_ring=lambda: None,
        seal=lambda level, message, fields: sealed.append(fields),
        host=keep.host,
    )
    channel.poll()
    assert sealed == []
    assert keep.events() == []
