"""What a host holding a store can read, with no key: the host's own view of a store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealog.host._store import Store
from sealog.seal._container import MAGIC, Entry, iter_entries

__all__ = ["HostView", "SessionView", "host_view"]


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
