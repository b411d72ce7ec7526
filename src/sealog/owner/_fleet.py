"""The owner's side of the fleet: sessions read from NATS JetStream as from a folder.

A ``nats://`` source is *materialised*: the selected sessions' messages are copied, in the
stream's own order, into a store folder (a private temporary one, or the folder ``sealog pull``
names), and the folder code reads and verifies them. The verdicts are then those of a folder by
construction: a message the operator deleted is a frame missing from the file, a frame
republished under a new id is a duplicated entry, a reordering is a reordered file, a frame
moved between sessions is a spliced one.

One thing is dropped on the way, and only one: a message whose id *and* bytes equal an earlier
one of the same session. That is what an at-least-once publish retried after the stream's
duplicate window produces; dropping it hides nothing, because the copy kept is byte-identical
and stays where the first one was. Subjects, ids and timestamps otherwise only route: the
sealed bytes say what they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealog.errors import FormatError
from sealog.host._nats import NatsTarget, connect, is_nats, keep_token, parse_msg_id
from sealog.host._store import Store
from sealog.owner._reader import SessionReader
from sealog.owner._select import parse_time
from sealog.owner._store_ops import readers
from sealog.seal._container import MAGIC, encode_entry
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import Record

__all__ = [
    "StreamSelection",
    "StreamSession",
    "list_stream",
    "merge_records",
    "open_source",
    "parse_when",
    "pull",
    "read_merged",
]



def parse_when(text: str, now: float | None = None) -> float:
    """A point in time: ISO 8601 (``2026-11-27T10:00:00Z``; no zone means UTC) or an age
    (``90s``, ``15m``, ``2h``, ``7d`` before ``now``): the same forms as ``read --since``.

    Raises:
        FormatError: neither form.
    """
    return parse_time(text, now=now)


@dataclass(frozen=True)
class StreamSelection:
    """Which sessions of a stream to take.

    Attributes:
        keep: only this Keep's sessions.
        session: only this session (an id or a unique prefix).
        since: only sessions with messages at or after this time (seconds since the epoch, as
            the stream stamped them).
        until: only sessions that started at or before this time.
    """

    keep: str | None = None
    session: str | None = None
    since: float | None = None
    until: float | None = None


@dataclass(frozen=True)
class StreamSession:
    """One session as the stream's own bookkeeping shows it (nothing here is verified).

    Attributes:
        keep: the Keep's subject token (its id, when plain).
        session: the session id.
        messages: messages under the session's subjects.
        started: the stream's time stamp on the header (None when it is missing).
        last: the stream's time stamp on the last frame (None when there is none).
    """

    keep: str
    session: str
    messages: int
    started: float | None = None
    last: float | None = None


async def _catalog(js: Any, target: NatsTarget, selection: StreamSelection) -> list[StreamSession]:
    from nats.js import errors as js_errors  # noqa: PLC0415

    try:
        info = await js.stream_info(target.stream, subjects_filter=f"{target.prefix}.>")
    except js_errors.NotFoundError as exc:
        raise FormatError(f"{target}: no stream {target.stream} on the server") from exc
    counts: dict[tuple[str, str], int] = {}
    for subject, count in sorted((info.state.subjects or {}).items()):
        parts = target.split(subject)
        if parts is None:
            # The operator put something there that no relay writes: refuse, as a folder
            # holding foreign files is refused.
            raise FormatError(f"{target}: foreign subject in stream: {subject}")
        key = (parts[0], parts[1])
        counts[key] = counts.get(key, 0) + int(count)
    found = [StreamSession(k, s, n) for (k, s), n in counts.items()]
    if selection.keep is not None:
        token = keep_token(selection.keep)
        found = [f for f in found if f.keep == token]
    if selection.session is not None:
        prefix = selection.session.lower()
        matches = {f.session for f in found if f.session.startswith(prefix)}
        if len(matches) != 1:
            what = "no session" if not matches else f"{len(matches)} sessions"
            raise FormatError(f"{target}: {what} matching {selection.session!r}")
        found = [f for f in found if f.session in matches]
    if selection.since is not None or selection.until is not None:
        timed = [await _times(js, target, f) for f in found]
        found = [
            f
            for f in timed
            if (selection.since is None or (f.last or f.started or 0) >= selection.since)
            and (selection.until is None or (f.started or f.last or 0) <= selection.until)
        ]
    return found


async def _times(js: Any, target: NatsTarget, found: StreamSession) -> StreamSession:
    from nats.js import errors as js_errors  # noqa: PLC0415

    stamps: list[float | None] = []
    for kind in ("header", "frame"):
        subject = f"{target.prefix}.{found.keep}.{found.session}.{kind}"
        try:
            msg = await js.get_last_msg(target.stream, subject)
        except js_errors.NotFoundError:
            stamps.append(None)
            continue
        stamps.append(msg.time.timestamp() if msg.time else None)
    return StreamSession(found.keep, found.session, found.messages, stamps[0], stamps[1])


class _Files:
    """Writes a session's messages into store files, in the order they come."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._seal: dict[str, int] = {}
        self._index: dict[str, Any] = {}
        self._events: dict[str, Any] = {}
        self._seen: dict[str, dict[str, bytes]] = {}
        self.started: dict[str, float] = {}

    def add(self, session: str, kind: str, payload: bytes, mid: str | None, when: float) -> None:
        parsed = parse_msg_id(mid)
        if parsed is not None and parsed[0] == session:
            digest = hashlib.sha256(payload).digest()
            seen = self._seen.setdefault(session, {})
            if seen.get(mid or "") == digest:
                return  # a retried publish, byte for byte (see the module's docstring)
            seen.setdefault(mid or "", digest)
        if kind == "event":
            fh = self._events.get(session)
            if fh is None:
                fh = self._events[session] = open(  # noqa: SIM115 - closed in close()
                    self._store.events_path(session), "wb"
                )
            fh.write(payload.rstrip(b"\n") + b"\n")
            fh.flush()
            return
        fd = self._seal.get(session)
        if fd is None:
            path = self._store.seal_path(session)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
            os.write(fd, MAGIC)
            self._seal[session] = fd
            self._index[session] = open(  # noqa: SIM115 - closed in close()
                self._store.index_path(session), "w", encoding="ascii"
            )
            self.started[session] = when
        # One write per entry: a reader following the file sees whole entries or a torn tail.
        os.write(fd, encode_entry(payload))
        if kind == "frame":
            index = self._index[session]
            index.write(f"{len(payload)} {when:.6f}\n")
            index.flush()

    def close(self) -> None:
        for fd in self._seal.values():
            os.close(fd)
        for fh in (*self._index.values(), *self._events.values()):
            fh.close()
        self._seal.clear()
        self._index.clear()
        self._events.clear()
        # A folder lists sessions oldest first by file time: give each its first message's.
        for session, when in self.started.items():
            with contextlib.suppress(OSError):
                os.utime(self._store.seal_path(session), (when, when))


def _filter_subject(target: NatsTarget, chosen: list[StreamSession]) -> str:
    keeps = {c.keep for c in chosen}
    if len(chosen) == 1:
        return f"{target.prefix}.{chosen[0].keep}.{chosen[0].session}.*"
    if len(keeps) == 1:
        return f"{target.prefix}.{next(iter(keeps))}.>"
    return f"{target.prefix}.>"


async def _copy(
    target: NatsTarget,
    store: Store,
    selection: StreamSelection,
    *,
    events: bool,
    ready: threading.Event | None = None,
    stop: asyncio.Event | None = None,
) -> list[str]:
    """Copy the selected sessions into ``store``; with ``ready`` and ``stop``, keep copying
    what arrives (``ready`` is set once the stream's current end is reached)."""
    nc = await connect(target, forever=stop is not None, name="sealog-owner")
    files = _Files(store)
    try:
        js = nc.jetstream(timeout=5)
        chosen = await _catalog(js, target, selection)
        if not chosen:
            raise FormatError(f"{target}: no sessions match")
        wanted = {c.session for c in chosen}
        sub = await js.subscribe(_filter_subject(target, chosen), ordered_consumer=True)
        caught_up = False
        while True:
            try:
                # Following, wake up often to see whether to stop; else be patient with a
                # cluster that is electing a leader.
                msg = await sub.next_msg(timeout=0.5 if stop is not None else 5.0)
            except TimeoutError:
                if stop is not None and stop.is_set():
                    break
                if not caught_up and stop is None:
                    raise FormatError(f"{target}: the stream stopped answering") from None
                continue
            parts = target.split(msg.subject)
            if parts is not None and parts[1] in wanted and (events or parts[2] != "event"):
                when = msg.metadata.timestamp.timestamp()
                mid = (msg.headers or {}).get("Nats-Msg-Id")
                files.add(parts[1], parts[2], msg.data, mid, when)
            if msg.metadata.num_pending == 0 and not caught_up:
                caught_up = True
                if stop is None:
                    break
                if ready is not None:
                    ready.set()
            if stop is not None and stop.is_set():
                break
        await sub.unsubscribe()
        return sorted(wanted)
    finally:
        files.close()
        with contextlib.suppress(Exception):
            await nc.close()


def pull(
    source: str, dest: Path | str, selection: StreamSelection | None = None
) -> list[str]:
    """Copy a ``nats://`` source's sessions into the store folder ``dest`` (created if needed).

    Each session pulled replaces the local copy of the same session; the folder then reads and
    verifies as any store.

    Returns:
        The session ids pulled.

    Raises:
        FormatError: a malformed address, no server, no stream, no matching session, or a
            stream holding subjects no relay writes.
    """
    target = NatsTarget.parse(source)
    store = Store.create(Path(dest))
    return asyncio.run(_copy(target, store, selection or StreamSelection(), events=True))


def list_stream(source: str, selection: StreamSelection | None = None) -> list[StreamSession]:
    """The sessions a ``nats://`` source holds, from the stream's bookkeeping (unverified)."""
    target = NatsTarget.parse(source)

    async def run() -> list[StreamSession]:
        nc = await connect(target, name="sealog-owner")
        try:
            js = nc.jetstream(timeout=5)
            found = await _catalog(js, target, selection or StreamSelection())
            return [await _times(js, target, f) for f in found]
        finally:
            await nc.close()

    return asyncio.run(run())


class _Follower:
    """Keeps copying a stream into a folder on a thread of its own."""

    def __init__(self, target: NatsTarget, store: Store, selection: StreamSelection) -> None:
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._error: BaseException | None = None

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(
                    _copy(target, store, selection, events=True, ready=self._ready, stop=self._stop)
                )
            except BaseException as exc:  # handed to the caller's thread in start()
                self._error = exc
            finally:
                self._ready.set()

        self._thread = threading.Thread(target=run, name="sealog-follow", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=5)


@contextlib.contextmanager
def open_source(
    source: str | Path,
    selection: StreamSelection | None = None,
    *,
    follow: bool = False,
) -> Iterator[Path]:
    """A store folder for ``source``: a folder as it is, a ``nats://`` source materialised into
    a private temporary folder (removed on exit). With ``follow``, messages that arrive later
    keep being appended until exit, so a reader following the folder follows the stream.

    Raises:
        FormatError: see :func:`pull`; also a selection given for a folder.
    """
    selection = selection or StreamSelection()
    if not is_nats(str(source)):
        if selection.keep is not None or selection.since is not None or (
            selection.until is not None
        ):
            raise FormatError("--keep, --since and --until select from a nats:// source")
        yield Path(source)
        return
    target = NatsTarget.parse(str(source))
    folder = Path(tempfile.mkdtemp(prefix="sealog-nats-"))
    follower: _Follower | None = None
    try:
        store = Store.create(folder / "store")
        if follow:
            follower = _Follower(target, store, selection)
            follower.start()
        else:
            asyncio.run(_copy(target, store, selection, events=True))
        yield store.root
    finally:
        if follower is not None:
            follower.stop()
        shutil.rmtree(folder, ignore_errors=True)


def read_merged(
    store_path: Path | str,
    key: OwnerPrivateKey,
    session: str | None = None,
    *,
    min_level: int = 0,
    since: float | None = None,
    until: float | None = None,
) -> tuple[list[SessionReader], Iterator[tuple[SessionReader, Record]]]:
    """A store's sessions (all, or the one named) and their records merged by time.

    Raises:
        FormatError: the store is missing, empty, or holds foreign files.
    """
    chosen = readers(store_path, key, session)
    return chosen, merge_records(chosen, min_level=min_level, since=since, until=until)


def merge_records(
    readers: list[SessionReader],
    *,
    min_level: int = 0,
    since: float | None = None,
    until: float | None = None,
) -> Iterator[tuple[SessionReader, Record]]:
    """The authenticated records of many sessions (many Keeps), merged by record time.

    Each session's records come in their sealed order; check each reader's
    :meth:`~SessionReader.verdict` afterwards, as with :func:`sealog.owner.read_store`.
    """

    def one(n: int, reader: SessionReader) -> Iterator[tuple[float, int, SessionReader, Record]]:
        for record in reader.read():
            if record.level < min_level:
                continue
            if (since is not None and record.time < since) or (
                until is not None and record.time > until
            ):
                continue
            yield record.time, n, reader, record

    streams = [one(n, r) for n, r in enumerate(readers)]
    for _when, _n, reader, record in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
        yield reader, record
