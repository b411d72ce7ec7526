"""Following a store as it grows: every session, new sessions too, until told to stop.

A Keep that restarts starts a new session in the same store; an owner watching a service wants
its records without starting over. :func:`follow_store` waits for the store to appear, reads
every session's new frames on each poll, picks up sessions that appear, and reports each
session's verdict once it ends (closed, or failed).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sealog.errors import FormatError
from sealog.host._store import MARKER, Store
from sealog.owner._output import RecordView
from sealog.owner._reader import SessionReader, Verdict
from sealog.owner._select import Selection, session_records
from sealog.owner._store_ops import _SpliceIndex
from sealog.seal._keys import OwnerPrivateKey

__all__ = ["follow_store"]


def _by_time(view: RecordView) -> float:
    return view.record.time


def _wait_for_store(
    root: Path, stop: Callable[[], bool], sleep: Callable[[float], None], poll: float
) -> Store | None:
    """The store once it exists (None if told to stop first). A path that exists but is not a
    store is bad input at once: waiting would not change it."""
    while True:
        if (root / MARKER).exists() or (root.exists() and not root.is_dir()):
            return Store.open(root)
        if root.is_dir() and any(p.name != MARKER for p in root.iterdir()):
            return Store.open(root)  # a folder with other things: raises "not a store"
        if stop():
            return None
        sleep(poll)


def follow_store(
    store: Path | str,
    key: OwnerPrivateKey,
    selection: Selection | None = None,
    *,
    session: str | None = None,
    on_end: Callable[[Verdict], None] | None = None,
    poll: float = 0.2,
    stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[RecordView]:
    """The selected records of a store as they arrive, until ``stop()`` says so.

    Each poll reads what every session gained and yields it merged by time. Sessions that
    appear are followed from their start; a session that ends (closed, or failed) is reported
    once through ``on_end`` and not read again.

    Args:
        store: the store folder; it need not exist yet.
        key: the owner's private key.
        selection: which records (default: all).
        session: follow only this session (an id or unique prefix).
        on_end: called with each session's verdict when it ends.
        poll: seconds between polls.
        stop: checked once per poll; True ends the generator.
        sleep: waits between polls (injected by tests).

    Raises:
        FormatError: the path exists but is not a store, or holds foreign files.
    """
    sel = selection or Selection()
    found = _wait_for_store(Path(store), stop, sleep, poll)
    if found is None:
        return
    following: dict[str, SessionReader] = {}
    ended: set[str] = set()
    while True:
        found.check_clean()
        sessions = found.sessions()
        if session is not None:
            sessions = [s for s in sessions if s.startswith(session.lower())]
            if len(sessions) > 1:
                raise FormatError(f"{found.root}: {len(sessions)} sessions matching {session!r}")
        splice = _SpliceIndex(found, found.sessions())
        for sid in sessions:
            if sid not in following and sid not in ended:
                following[sid] = SessionReader(found.seal_path(sid), key, splice.lookup_for(sid))
        batches = [list(session_records(r, sel)) for r in following.values()]
        yield from heapq.merge(*batches, key=_by_time)
        for sid, reader in list(following.items()):
            if reader.closed or reader.failed:
                del following[sid]
                ended.add(sid)
                if on_end is not None:
                    on_end(reader.verdict())
        if stop():
            return
        sleep(poll)
