"""The owner's operations on a whole store: verify every session, read records, host view."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sealog.attest import AppraisalPolicy, appraise
from sealog.errors import FormatError
from sealog.host._store import Store
from sealog.owner._reader import SessionReader, Verdict
from sealog.seal._container import MAGIC, Entry, iter_entries
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import Record

__all__ = ["HostView", "SessionView", "host_view", "read_store", "verify_store"]


class _SpliceIndex:
    """Digests of every frame in the store's other sessions, built on first use."""

    def __init__(self, store: Store, sessions: list[str]) -> None:
        self._store = store
        self._sessions = sessions
        self._index: dict[bytes, str] | None = None

    def lookup_for(self, own: str) -> Any:
        def lookup(payload: bytes) -> str | None:
            if self._index is None:
                self._index = {}
                for sid in self._sessions:
                    data = self._store.seal_path(sid).read_bytes()
                    for n, item in enumerate(iter_entries(data)):
                        if isinstance(item, Entry) and n > 0:
                            self._index.setdefault(hashlib.sha256(item.payload).digest(), sid)
            found = self._index.get(hashlib.sha256(payload).digest())
            return found if found != own else None

        return lookup


def _open(store_path: Path | str, session: str | None) -> tuple[Store, list[str]]:
    store_path = Path(store_path)
    store = Store.open(store_path)
    store.check_clean()
    sessions = store.sessions()
    if not sessions:
        raise FormatError(f"{store_path}: store holds no sessions")
    if session is not None:
        return store, [store.resolve(session)]
    return store, sessions


def readers(
    store_path: Path | str, key: OwnerPrivateKey, session: str | None = None
) -> list[SessionReader]:
    """One reader per session of the store (all, or the one named)."""
    store, chosen = _open(store_path, session)
    splice = _SpliceIndex(store, store.sessions())
    return [SessionReader(store.seal_path(s), key, splice.lookup_for(s)) for s in chosen]


def verify_store(
    store_path: Path | str,
    key: OwnerPrivateKey,
    session: str | None = None,
    *,
    require: AppraisalPolicy | None = None,
) -> list[Verdict]:
    """Verify every session of a store; one verdict each.

    Args:
        store_path: the store folder.
        key: the owner's private key.
        session: only this session (an id or unique prefix).
        require: also appraise each intact session's attestation against this policy; a
            session that fails it gets the verdict ``attestation-failed``.

    Raises:
        FormatError: the store is missing, empty, or holds foreign files.
    """
    verdicts = []
    for reader in readers(store_path, key, session):
        for _ in reader.read():
            pass
        verdict = reader.verdict()
        if require is not None and verdict.ok and verdict.header is not None:
            appraisal = appraise(verdict.header, require)  # type: ignore[arg-type]
            if not appraisal.ok:
                verdict = replace(verdict, status="attestation-failed", message=appraisal.summary())
            else:
                verdict = replace(verdict, message=f"{verdict.message}; {appraisal.summary()}")
        verdicts.append(verdict)
    return verdicts


def read_store(
    store_path: Path | str,
    key: OwnerPrivateKey,
    session: str | None = None,
    min_level: int = 0,
) -> Iterator[tuple[SessionReader, Record]]:
    """Every authenticated record of the store's sessions, session by session, in order.

    Check each reader's :meth:`~SessionReader.verdict` after its records: records are
    yielded only up to the first frame that fails to authenticate.
    """
    for reader in readers(store_path, key, session):
        for record in reader.read():
            if record.level >= min_level:
                yield reader, record


@dataclass(frozen=True)
class SessionView:
    """What the host can learn about one session."""

    session: str
    header_bytes: int
    header: dict[str, Any]
    frames: int
    frame_sizes: tuple[int, ...]
    times: tuple[float, ...]
    events: tuple[dict[str, Any], ...]
    file_bytes: int


@dataclass(frozen=True)
class HostView:
    """Everything the host can read from a store, and nothing more."""

    store: Path
    sessions: tuple[SessionView, ...]


def host_view(store_path: Path | str) -> HostView:
    """What a host holding the store can read: no key is used.

    The header's cleartext fields are shown because the host holds them too (session id, Keep
    id, profile name and digest, owner key id, the evidence); the records are not, because
    only their sealed bytes are there.
    """
    store_path = Path(store_path)
    store = Store.open(store_path)
    views = []
    for sid in store.sessions():
        path = store.seal_path(sid)
        data = path.read_bytes()
        header: dict[str, Any] = {}
        header_bytes = 0
        sizes = []
        if data.startswith(MAGIC):
            for n, item in enumerate(iter_entries(data)):
                if not isinstance(item, Entry):
                    break
                if n == 0:
                    header_bytes = len(item.payload)
                    try:
                        header = json.loads(item.payload)
                    except ValueError:
                        header = {}
                else:
                    sizes.append(len(item.payload))
        times: list[float] = []
        index = store.index_path(sid)
        if index.exists():
            for line in index.read_text(errors="replace").splitlines():
                parts = line.split()
                if len(parts) == 2:
                    try:
                        times.append(float(parts[1]))
                    except ValueError:
                        continue
        events: list[dict[str, Any]] = []
        events_path = store.events_path(sid)
        if events_path.exists():
            for line in events_path.read_text(errors="replace").splitlines():
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue
        views.append(
            SessionView(
                sid,
                header_bytes,
                header,
                len(sizes),
                tuple(sizes),
                tuple(times),
                tuple(events),
                len(data),
            )
        )
    return HostView(store_path, tuple(views))
