"""The embedded default store: a folder the host keeps, one append-only file per session.

    STORE/sealog-store              marker: "sealog store v1"
    STORE/<session>.seal            the sealed session (see docs/format.md)
    STORE/<session>.index           host-side notes: one line per frame, "size unix_time"
    STORE/<session>.events.jsonl    the host-channel events of that session (cleartext)

Everything here is host-visible by design; only the ``.seal`` files matter to the owner, and
the owner trusts nothing else in the folder.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sealog._display import printable
from sealog._files import read_tail
from sealog.errors import FormatError
from sealog.host._liveness import hold_writer_lock
from sealog.seal._container import MAGIC, encode_entry
from sealog.seal._header import Header

__all__ = ["SessionFile", "Store"]

MARKER = "sealog-store"
_MARKER_TEXT = "sealog store v1\n"
_MARKER_BYTES = _MARKER_TEXT.encode()
_SESSION = re.compile(r"^([0-9a-f]{32})\.(seal|index|events\.jsonl)$")


class SessionFile:
    """One session's append-only file: a :class:`~sealog.keep.FrameSink` for the Keep."""

    def __init__(self, store: Store, header: Header) -> None:
        self.path = store.seal_path(header.session_hex)
        self._index_path = store.root / f"{header.session_hex}.index"
        # O_EXCL: a session file is never reopened for writing, so nothing can be overwritten.
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        hold_writer_lock(self._fd)  # readers tell a running session from a cut-off one
        # The index is the host's own notes: buffered, written out at most every second (and at
        # close), so a frame costs one system call, not two.
        self._index = open(self._index_path, "a", encoding="ascii")  # noqa: SIM115
        self._index_flushed = time.monotonic()
        os.write(self._fd, MAGIC + encode_entry(header.to_bytes()))
        os.fsync(self._fd)

    def write_frame(self, payload: bytes) -> None:
        """Append one frame in a single write (a killed writer leaves whole frames or a torn
        last one, never an interleaving)."""
        os.write(self._fd, encode_entry(payload))
        self._index.write(f"{len(payload)} {time.time():.6f}\n")
        now = time.monotonic()
        if now - self._index_flushed >= 1.0:
            self._index.flush()
            self._index_flushed = now

    def fileno(self) -> int:
        """The ``.seal`` file's descriptor, opened for appending (a helper process may append
        frames to it: see :meth:`encode_frame`, :meth:`frame_written`)."""
        return self._fd

    def encode_frame(self, payload: bytes) -> bytes:
        """Exactly the bytes :meth:`write_frame` appends for ``payload``."""
        return encode_entry(payload)

    def frame_written(self, size: int, when: float) -> None:
        """Note a frame of ``size`` bytes that a helper appended at unix time ``when``."""
        self._index.write(f"{size} {when:.6f}\n")
        now = time.monotonic()
        if now - self._index_flushed >= 1.0:
            self._index.flush()
            self._index_flushed = now

    def close(self) -> None:
        """Make the file durable and release it."""
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            self._index.close()


@dataclass(frozen=True)
class Store:
    """A store folder."""

    root: Path
    #: open events files, one per live session (appending must not cost an open() per event).
    _events: dict[str, TextIO] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def create(cls, root: Path) -> Store:
        """Open ``root`` as a store, creating it (and its marker) if needed.

        Raises:
            FormatError: ``root`` exists and is not a store (a file, or a non-empty foreign folder).
        """
        if root.exists() and not root.is_dir():
            raise FormatError(f"{root}: exists and is not a folder")
        if root.is_dir() and not (root / MARKER).exists() and any(root.iterdir()):
            raise FormatError(f"{root}: a non-empty folder that is not a sealog store")
        root.mkdir(parents=True, exist_ok=True)
        marker = root / MARKER
        if not marker.exists():
            marker.write_text(_MARKER_TEXT)
        return cls(root)

    @classmethod
    def open(cls, root: Path) -> Store:
        """Open an existing store.

        Raises:
            FormatError: missing, not a folder, or not a sealog store.
        """
        if not root.exists():
            raise FormatError(f"{root}: no such store")
        if not root.is_dir():
            raise FormatError(f"{root}: not a folder (a store is a folder)")
        marker = root / MARKER
        if not marker.is_file() or read_tail(marker, 0, 64, "a store marker") != _MARKER_BYTES:
            raise FormatError(f"{printable(str(root))}: not a sealog store (no {MARKER} marker)")
        return cls(root)

    def seal_path(self, session: str) -> Path:
        """The sealed file of a session."""
        return self.root / f"{session}.seal"

    def events_path(self, session: str) -> Path:
        """The host-channel events of a session."""
        return self.root / f"{session}.events.jsonl"

    def index_path(self, session: str) -> Path:
        """The host's notes on a session's frames."""
        return self.root / f"{session}.index"

    def new_session(self, header: Header) -> SessionFile:
        """Create the file of a new session and write its header."""
        return SessionFile(self, header)

    def sessions(self) -> list[str]:
        """Session ids in the store, oldest first (by file time, then id)."""
        found = []
        for path in self.root.iterdir():
            m = _SESSION.match(path.name)
            if m and m.group(2) == "seal":
                found.append((path.stat().st_mtime_ns, m.group(1)))
        return [sid for _, sid in sorted(found)]

    def foreign_files(self) -> list[Path]:
        """Files that are neither the marker nor a session's file."""
        return sorted(
            p for p in self.root.iterdir() if p.name != MARKER and not _SESSION.match(p.name)
        )

    def check_clean(self) -> None:
        """Refuse a store holding files it did not write (someone put them there)."""
        foreign = self.foreign_files()
        if foreign:
            names = ", ".join(p.name for p in foreign[:3])
            raise FormatError(f"{self.root}: foreign file(s) in store: {names}")

    def resolve(self, session: str) -> str:
        """A full session id from a unique prefix.

        Raises:
            FormatError: no session, or more than one, starts with ``session``.
        """
        matches = [s for s in self.sessions() if s.startswith(session.lower())]
        if len(matches) != 1:
            what = "no session" if not matches else f"{len(matches)} sessions"
            raise FormatError(f"{self.root}: {what} matching {session!r}")
        return matches[0]

    def append_event_lines(self, session: str, text: str) -> None:
        """Record a batch of ``keep.log`` events, already JSON lines (each ending in a newline),
        in one write."""
        fh = self._events.get(session)
        if fh is None:
            fh = open(self.events_path(session), "a", encoding="utf-8")  # noqa: SIM115
            self._events[session] = fh
        fh.write(text)
        fh.flush()

    def append_event(self, session: str, event: dict[str, Any]) -> None:
        """Record one host-channel event (the host stores what it saw).

        The session's events file stays open, appended line by line. An event that says more
        follow at once (``event.more``, a batch of ``keep.log`` lines) may wait in the buffer
        for the last of them; every other event is on disk when this returns. ``keep.closed``
        releases the file (a later event opens it again).
        """
        fh = self._events.get(session)
        if fh is None:
            fh = open(self.events_path(session), "a", encoding="utf-8")  # noqa: SIM115
            self._events[session] = fh
        line = getattr(event, "line", None)
        if not isinstance(line, str):
            line = json.dumps(event, sort_keys=True, separators=(",", ":"))
        fh.write(line + "\n")
        if not getattr(event, "more", False):
            fh.flush()
        if event.get("event") == "keep.closed":
            del self._events[session]
            fh.close()
