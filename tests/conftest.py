"""Fixtures shared by the whole suite."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sealog.host._store import SessionFile, Store
from sealog.keep._handler import SealogHandler
from sealog.keep._session import SealedSession
from sealog.profile._model import Profile
from sealog.seal._header import LaunchConfig
from sealog.seal._keys import OwnerPrivateKey, generate_owner_key
from sealog.seal._writer import start_session
from streams import SessionMaker, none_evidence, plain_profile

sys.path.insert(0, str(Path(__file__).resolve().parent / "audit"))

from audithelp import NOW, Control, policy_text

from sealog.audit import AuditLog, SigningKey, parse_control_policy

#: Published evidence and vectors, vendored with their provenance (tests/vectors/README.md).
VECTORS = Path(__file__).resolve().parent / "vectors"


@pytest.fixture(scope="session")
def vectors() -> Path:
    """The folder of published test vectors shipped with the tests."""
    return VECTORS


# -- sealed sessions built through the library ---------------------------------------------


@pytest.fixture
def owner_key() -> OwnerPrivateKey:
    """A fresh owner key."""
    return generate_owner_key()


@pytest.fixture
def make_session(tmp_path: Path, owner_key: OwnerPrivateKey) -> Iterator[SessionMaker]:
    """Write a real session into ``tmp_path/store`` and return ``(store, session id)``.

    Keyword arguments: ``records`` (how many INFO records), ``close`` (write the closing
    frame), ``profile``, ``key`` (the owner key to seal to), ``frames_every`` (flush after this
    many records, giving that many records per frame), ``writer_alive`` (an unclosed session's
    file stays held, as by a running Keep; otherwise it is released, as by one that died).
    """

    def make(
        records: int = 40,
        *,
        close: bool = True,
        profile: Profile | None = None,
        key: OwnerPrivateKey | None = None,
        frames_every: int = 5,
        store: Path | None = None,
        writer_alive: bool = False,
    ) -> tuple[Path, str]:
        prof = profile or plain_profile(epoch_frames=3, checkpoint_every=4)
        owner = (key or owner_key).public_key
        launch = LaunchConfig(prof.name, prof.stage.value, b"\x11" * 32, owner.key_id)
        header, sealer = start_session(
            owner,
            launch,
            none_evidence,
            epoch_frames=prof.stream.epoch_frames,
            bucket=prof.stream.bucket if prof.stream.padding else 0,
            checkpoint_every=prof.stream.checkpoint_every,
        )
        store_path = store or tmp_path / "store"
        sink = Store.create(store_path).new_session(header)
        sealed = SealedSession(sealer, sink, prof.owner, prof.stream, start=False)
        handler = SealogHandler(sealed, prof)
        log = logging.getLogger(f"test.{header.session_hex[:8]}")
        log.propagate = False
        log.handlers = [handler]
        log.setLevel(logging.DEBUG)
        for i in range(records):
            log.info("record %d of %s", i, "the test", extra={"n": i})
            if (i + 1) % frames_every == 0:
                sealed.flush()
        if close:
            sealed.close()
        else:
            sealed.flush()
            if writer_alive:
                held.append(sink)
            else:
                sink.close()
        return store_path, header.session_hex

    held: list[SessionFile] = []
    yield make
    for sink in held:
        sink.close()


# -- the control process -------------------------------------------------------------------


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
