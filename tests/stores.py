"""Writing sessions with chosen records (times, levels, loggers, sources) into a real store."""

from __future__ import annotations

from pathlib import Path

from sealog.host._store import SessionFile, Store
from sealog.keep._session import SealedSession
from sealog.profile._model import Profile
from sealog.seal._header import LaunchConfig
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import ExceptionInfo, Record
from sealog.seal._writer import start_session
from streams import none_evidence, plain_profile

__all__ = ["at", "write_session"]

#: A fixed moment (2026-05-01T10:00:00Z) the tests' records are logged around.
T0 = 1_777_629_600.0


def at(
    seconds: float,
    message: str,
    *,
    level: int = 20,
    logger: str = "app",
    source: str = "workload",
    exception: ExceptionInfo | None = None,
    fields: dict[str, object] | None = None,
) -> Record:
    """A record logged ``seconds`` after :data:`T0`."""
    return Record(T0 + seconds, level, source, logger, message, None, exception, fields or {})


def write_session(
    store: Path,
    key: OwnerPrivateKey,
    records: list[Record],
    *,
    keep: str = "keep",
    close: bool = True,
    profile: Profile | None = None,
    per_frame: int = 3,
) -> tuple[str, SessionFile]:
    """Seal ``records`` into a new session of ``store``; returns its id and its file.

    Without ``close`` the file stays held, as by a running Keep: close it to play a Keep that
    died.
    """
    prof = profile or plain_profile(epoch_frames=3, checkpoint_every=4)
    launch = LaunchConfig(prof.name, prof.stage.value, b"\x11" * 32, key.public_key.key_id)
    header, sealer = start_session(
        key.public_key,
        launch,
        none_evidence,
        keep_id=keep,
        epoch_frames=prof.stream.epoch_frames,
        checkpoint_every=prof.stream.checkpoint_every,
        now=records[0].time if records else T0,
    )
    sink = Store.create(store).new_session(header)
    sealed = SealedSession(sealer, sink, prof.owner, prof.stream, start=False)
    for n, record in enumerate(records, 1):
        sealed.submit(record.to_row())
        if n % per_frame == 0:
            sealed.flush()
    if close:
        sealed.close()
    else:
        sealed.flush()
    return header.session_hex, sink
