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

__all__ = ["MAGIC", "MAX_ENTRY", "Entry", "Damaged", "encode_entry", "iter_entries"]

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
