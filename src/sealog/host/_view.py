"""What a host holding a store can read, with no key: the host's own view of a store."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealog._files import read_tail
from sealog.host._store import Store
from sealog.seal._container import MAGIC, Entry, iter_file_entries

__all__ = ["HostView", "SessionView", "host_view"]

#: The most of a session's index or events file that is shown (a host note, not evidence).
_NOTES_LIMIT = 16 * 1024 * 1024


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
        file_bytes = os.stat(path).st_size
        header: dict[str, Any] = {}
        header_bytes = 0
        sizes = []
        if read_tail(path, 0, len(MAGIC)) == MAGIC:
            for n, item in enumerate(iter_file_entries(path)):
                if not isinstance(item, Entry):
                    break
                if n == 0:
                    header_bytes = len(item.payload)
                    try:
                        parsed = json.loads(item.payload)
                    except (ValueError, RecursionError):
                        parsed = {}
                    header = parsed if isinstance(parsed, dict) else {}
                else:
                    sizes.append(len(item.payload))
        times: list[float] = []
        for line in _lines(store.index_path(sid)):
            parts = line.split()
            if len(parts) == 2:
                try:
                    times.append(float(parts[1]))
                except ValueError:
                    continue
        events: list[dict[str, Any]] = []
        for line in _lines(store.events_path(sid)):
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(event, dict):
                events.append(event)
        views.append(
            SessionView(
                sid,
                header_bytes,
                header,
                len(sizes),
                tuple(sizes),
                tuple(times),
                tuple(events),
                file_bytes,
            )
        )
    return HostView(store_path, tuple(views))


def _lines(path: Path) -> Iterator[str]:
    """The lines of a host note file, if there is one, at most ``_NOTES_LIMIT`` bytes of it."""
    if not path.exists() and not path.is_symlink():
        return
    data = read_tail(path, 0, _NOTES_LIMIT, "a host note file")
    yield from data.decode("utf-8", errors="replace").splitlines()
