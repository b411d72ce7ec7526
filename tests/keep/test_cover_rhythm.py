"""Under cover traffic the host sees one frame per tick, whatever the workload logs.

The emitter is driven tick by tick (``start=False`` + :meth:`SealedSession.tick`), so the frame
counts compared here are exact: no wall clock is involved.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sealog.host import Store
from sealog.keep._handler import SealogHandler
from sealog.keep._session import SealedSession
from sealog.profile import builtin_profile
from sealog.seal import OwnerPrivateKey
from sealog.seal._writer import start_profile_session
from streams import none_evidence

TICKS = 40


def _frame_sizes(store: Path) -> list[int]:
    from sealog.host import host_view

    (session,) = host_view(store).sessions
    return list(session.frame_sizes)


def _run(tmp_path: Path, key: OwnerPrivateKey, name: str, per_tick: int) -> list[int]:
    profile = builtin_profile("production")
    header, sealer = start_profile_session(key.public_key, profile, none_evidence)
    store = tmp_path / name
    sink = Store.create(store).new_session(header)
    sealed = SealedSession(sealer, sink, profile.owner, profile.stream, start=False)
    log = logging.getLogger(f"rhythm.{name}")
    log.propagate = False
    log.handlers = [SealogHandler(sealed, profile)]
    log.setLevel(logging.DEBUG)
    for tick in range(TICKS):
        for i in range(per_tick):
            level = logging.ERROR if i % 7 == 0 else logging.WARNING
            log.log(level, "burst %d/%d %s", tick, i, "x" * (i % 90))
        sealed.tick()
    sealed.close()
    return _frame_sizes(store)


def test_quiet_and_chatty_sessions_give_the_host_the_same_frames(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    quiet = _run(tmp_path, owner_key, "quiet", 0)
    chatty = _run(tmp_path, owner_key, "chatty", 30)
    # One size for every frame of both sessions, and exactly as many frames: the host cannot
    # tell a session that logged 1,200 records, ERRORs among them, from one that logged none.
    assert len(set(quiet) | set(chatty)) == 1
    assert len(quiet) == len(chatty)
    assert len(quiet) > TICKS
