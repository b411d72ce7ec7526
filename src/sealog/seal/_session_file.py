"""Reading a session file's header without the owner key (what a relying party needs)."""

from __future__ import annotations

from pathlib import Path

from sealog.errors import FormatError
from sealog.seal._container import MAGIC, Entry, iter_entries
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
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(MAGIC) + 8 + 1024 * 1024)
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror})") from exc
    if not head.startswith(MAGIC):
        raise FormatError(f"{path}: not a sealog session file")
    first = next(iter_entries(head), None)
    if not isinstance(first, Entry):
        raise FormatError(f"{path}: no complete header")
    return Header.from_bytes(first.payload)
