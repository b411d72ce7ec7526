"""Session transparency from a ``nats://`` source: the owner's ``verify --audit-log`` gives the
same per-Keep verdicts on a stream as on a folder, so a session the host dropped before (or
instead of) relaying it is MISSING there too."""

from __future__ import annotations

import asyncio
from pathlib import Path

from natshelp import Cli, Cluster

from sealog.audit import AuditLog, SigningKey, announce_session, announcement_file
from sealog.audit._policy import parse_control_policy
from sealog.host import NatsTarget, Store, relay_store
from sealog.keep._announce import await_announcement
from sealog.keep._host_channel import HostChannel
from sealog.keep._session import SealedSession
from sealog.seal import LaunchConfig, OwnerPrivateKey
from sealog.seal._writer import start_session
from streams import none_evidence, plain_profile


class Keeps:
    """Keeps that announce every start through the real waiting code, into one store."""

    def __init__(self, root: Path, owner: OwnerPrivateKey) -> None:
        self.owner = owner
        self.log_key = SigningKey.generate()
        self.log = AuditLog.init(root / "log", self.log_key)
        self.policy = parse_control_policy(
            "format = 1\n"
            f'audit_log_key = "{self.log_key.public_key.to_text()}"\n'
            "announce_sessions = true\napprovers = []\n[targets]\n"
        )
        self.control = root / "control"
        self.control.mkdir()
        self.store = Store.create(root / "store")

    def start(self, keep: str) -> str:
        """One announced session of ``keep``, closed; its id."""
        launch = LaunchConfig("test", "production", b"\x11" * 32, self.owner.public_key.key_id)
        header, sealer = start_session(self.owner.public_key, launch, none_evidence, keep_id=keep)
        prof = plain_profile()
        sealed = SealedSession(
            sealer, self.store.new_session(header), prof.owner, prof.stream, start=False
        )
        bundle = announce_session(self.log, header)
        bundle.save(announcement_file(self.control, header.session_hex))
        host = HostChannel(None, session=header.session_hex)
        assert await_announcement(header, self.control, self.policy, sealed, host) is None
        sealed.close()
        return header.session_hex


def test_session_dropped_before_the_relay_is_missing_from_the_stream_too(
    nats: Cluster,
    tmp_path: Path,
    owner_key: OwnerPrivateKey,
    owner_files: tuple[Path, Path],
    cli: Cli,
) -> None:
    keeps = Keeps(tmp_path, owner_key)
    first, dropped, last = (keeps.start("k1") for _ in range(3))
    other = keeps.start("k2")
    for path in keeps.store.root.glob(f"{dropped}.*"):
        path.unlink()  # the host deletes the session before it ever reaches the stream
    asyncio.run(relay_store(keeps.store.root, NatsTarget.parse(nats.source()), once=True))
    key = owner_files[0]
    code, out, err = cli("verify", nats.source(), "--key", key, "--audit-log", keeps.log.directory)
    assert code == 1, err
    assert f"MISSING      {dropped}" in out
    for sid in (first, last, other):
        assert f"ANNOUNCED    {sid}" in out
    # One Keep's view: the other Keep's sessions are not judged.
    code, out, err = cli(
        "verify", nats.source(), "--key", key, "--audit-log", keeps.log.directory, "--keep", "k2"
    )
    assert code == 0, out + err
    assert f"ANNOUNCED    {other}" in out
    assert dropped not in out
