"""The owner's operations on a whole store: verify every session, read records."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sealog.errors import FormatError
from sealog.host._store import Store
from sealog.owner._reader import SessionReader, Verdict
from sealog.seal._container import Entry, iter_file_entries
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import Record

if TYPE_CHECKING:
    from sealog.attest import AppraisalPolicy

__all__ = ["load_session", "read_store", "readers", "split_session_spec", "verify_store"]


def file_size(path: Path) -> int:
    """Size of a file, 0 when absent (for progress reports)."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


class _SpliceIndex:
    """Digests of every frame in the store's other sessions, built on first use."""

    def __init__(self, store: Store, sessions: list[str]) -> None:
        self._store = store
        self._sessions = sessions
        self._index: dict[bytes, list[str]] | None = None

    def lookup_for(self, own: str) -> Any:
        def lookup(payload: bytes) -> str | None:
            if self._index is None:
                self._index = {}
                for sid in self._sessions:
                    path = self._store.seal_path(sid)
                    for n, item in enumerate(iter_file_entries(path)):
                        if isinstance(item, Entry) and n > 0:
                            digest = hashlib.sha256(item.payload).digest()
                            self._index.setdefault(digest, []).append(sid)
            # A spliced frame sits in both sessions: name the other one, whichever session's
            # file happens to come first in the store (file times are the host's to set).
            holders = self._index.get(hashlib.sha256(payload).digest(), [])
            return next((sid for sid in holders if sid != own), None)

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
    progress: Callable[[int, int], None] | None = None,
) -> list[Verdict]:
    """Verify every session of a store; one verdict each.

    Args:
        store_path: the store folder.
        key: the owner's private key.
        session: only this session (an id or unique prefix).
        require: also appraise each intact session's attestation against this policy; a
            session that fails it gets the verdict ``attestation-failed``.
        progress: called now and then with ``(bytes done, bytes in all)``.

    Raises:
        FormatError: the store is missing, empty, or holds foreign files.
    """
    verdicts = []
    chosen = readers(store_path, key, session)
    total = sum(file_size(r.path) for r in chosen)
    done = 0
    for reader in chosen:
        if progress is None:
            for _ in reader.check():
                pass
        else:
            for n, _ in enumerate(reader.check()):
                if not n & 63:  # batches: every few thousand records
                    progress(done + reader.position, total)
            done += reader.position
            progress(done, total)
        verdict = reader.verdict()
        if require is not None and verdict.ok and verdict.header is not None:
            from sealog.attest import appraise  # noqa: PLC0415 - only when asked to appraise

            appraisal = appraise(verdict.header, require)
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


def split_session_spec(spec: str) -> tuple[Path, str | None]:
    """``STORE[:SESSION]``: a path that exists is a store, whatever colons it holds.

    Raises:
        FormatError: a colon with nothing on one side of it.
    """
    if Path(spec).exists() or ":" not in spec:
        return Path(spec), None
    store, _, session = spec.rpartition(":")
    if not store or not session:
        raise FormatError(f"{spec!r}: expected STORE or STORE:SESSION")
    return Path(store), session


def load_session(spec: str, key: OwnerPrivateKey) -> tuple[str, list[Record], Verdict]:
    """Read the one session ``STORE[:SESSION]`` names.

    Returns:
        A name for it (store and session id), its authenticated records, and its verdict.

    Raises:
        FormatError: no such store or session, or a store of several sessions without one named.
    """
    store_path, session = split_session_spec(spec)
    if session is None:
        count = len(Store.open(store_path).sessions())
        if count > 1:
            raise FormatError(
                f"{store_path}: store has {count} sessions: name one with STORE:SESSION"
            )
    (reader,) = readers(store_path, key, session)
    records = list(reader.read())
    return f"{store_path} session {reader.session}", records, reader.verdict()

