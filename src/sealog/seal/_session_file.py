"""Reading a session file's header without the owner key (what a relying party needs)."""

from __future__ import annotations

from pathlib import Path

from sealog._display import printable
from sealog._files import read_tail
from sealog.errors import FormatError
from sealog.seal._container import MAGIC, Entry, iter_file_entries
from sealog.seal._header import Header

__all__ = ["read_session_header"]


def read_session_header(path: Path | str) -> Header:
    """The parsed, canonical header of a ``.seal`` session file.

    Only the header is read and checked (canonical form, launch digest); nothing about the
    frames is verified: that needs the owner key (:func:`sealog.owner.verify_store`).

    Raises:
        FormatError: missing file, not a session file, or a malformed header.
    """
    path = Path(path)
    if read_tail(path, 0, len(MAGIC)) != MAGIC:
        raise FormatError(f"{printable(str(path))}: not a sealog session file")
    first = next(iter_file_entries(path), None)
    if not isinstance(first, Entry):
        raise FormatError(f"{printable(str(path))}: no complete header")
    return Header.from_bytes(first.payload)
