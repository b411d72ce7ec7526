"""The session file: a magic line, then length-prefixed entries (the header, then frames).

    file  = b"sealog\\x00\\x01\\n" || entry*
    entry = len u32 || (len XOR 0xFFFFFFFF) u32 || payload[len]

The length is stored twice (plain and inverted) so a damaged length is told apart from a torn
write at the end of the file: the first is tampering, the second is truncation.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sealog._files import read_tail

__all__ = [
    "MAGIC",
    "MAX_ENTRY",
    "READ_CHUNK",
    "Damaged",
    "Entry",
    "encode_entry",
    "entry_need",
    "iter_entries",
    "iter_file_entries",
]

MAGIC = b"sealog\x00\x01\n"
_LEN = struct.Struct(">II")
#: No frame or header is larger than this; a larger length is damage, not data.
MAX_ENTRY = 16 * 1024 * 1024


def encode_entry(payload: bytes) -> bytes:
    """One entry, ready to append."""
    n = len(payload)
    return _LEN.pack(n, n ^ 0xFFFFFFFF) + payload


@dataclass(frozen=True)
class Entry:
    """One complete entry and where it starts in the file."""

    offset: int
    payload: bytes


@dataclass(frozen=True)
class Damaged:
    """The container is damaged at ``offset``: ``torn`` when it merely ends mid-entry."""

    offset: int
    torn: bool
    reason: str


def iter_entries(data: bytes, start: int = len(MAGIC)) -> Iterator[Entry | Damaged]:
    """Yield entries from ``start``; a :class:`Damaged` item, if any, is the last thing yielded."""
    pos = start
    end = len(data)
    while pos < end:
        if end - pos < _LEN.size:
            yield Damaged(pos, torn=True, reason="file ends inside an entry's length")
            return
        n, inv = _LEN.unpack_from(data, pos)
        if n ^ inv != 0xFFFFFFFF or n > MAX_ENTRY:
            yield Damaged(pos, torn=False, reason="entry length is damaged")
            return
        if pos + _LEN.size + n > end:
            yield Damaged(pos, torn=True, reason="file ends inside an entry")
            return
        yield Entry(pos, data[pos + _LEN.size : pos + _LEN.size + n])
        pos += _LEN.size + n


#: How much of a session file is read at a time: the owner's tools never hold a whole
#: store file in memory, only this much or one entry (at most ``MAX_ENTRY``).
READ_CHUNK = 1024 * 1024


def entry_need(data: bytes, offset: int) -> int:
    """Bytes the entry starting at ``offset`` takes in full (its length prefix included)."""
    if len(data) - offset < _LEN.size:
        return _LEN.size
    n: int = _LEN.unpack_from(data, offset)[0]
    return _LEN.size + min(n, MAX_ENTRY)


def iter_file_entries(
    path: Path, start: int = len(MAGIC), stop: int | None = None
) -> Iterator[Entry | Damaged]:
    """:func:`iter_entries` over a file read a chunk at a time; offsets are the file's.

    Stops before the first entry that starts at or after ``stop``.

    Raises:
        FormatError: the file is missing or is not a regular file.
    """
    offset = start
    limit = READ_CHUNK
    while stop is None or offset < stop:
        data = read_tail(path, offset, limit)
        more = len(data) >= limit  # the file may go on past what was read
        end = 0
        for item in iter_entries(data, 0):
            if isinstance(item, Damaged):
                if item.torn and more:  # only torn by the chunk's edge: read it whole
                    limit = max(READ_CHUNK, entry_need(data, item.offset))
                    break
                yield Damaged(offset + item.offset, item.torn, item.reason)
                return
            if stop is not None and offset + item.offset >= stop:
                return
            yield Entry(offset + item.offset, item.payload)
            end = item.offset + _LEN.size + len(item.payload)
            limit = READ_CHUNK
        else:
            if not more:
                return
        offset += end
