"""Reading and writing the files people hand to sealog: one place for the error messages.

Every missing, unreadable or undecodable file becomes a :class:`~sealog.errors.FormatError`
naming the path, so the command line can print one line and exit 2.
"""

from __future__ import annotations

import os
from pathlib import Path

from sealog.errors import FormatError

__all__ = ["atomic_write", "read_bytes", "read_text", "refuse_overwrite", "write_private"]


def read_bytes(path: Path, what: str = "a file") -> bytes:
    """The bytes of ``path``.

    Args:
        path: the file.
        what: what was expected there, for the message when it is a folder ("a key file").

    Raises:
        FormatError: missing, a folder, or unreadable.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise FormatError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise FormatError(f"{path}: is a folder, expected {what}") from exc
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror})") from exc


def read_text(path: Path, what: str = "a file", encoding: str = "utf-8") -> str:
    """The text of ``path``.

    Raises:
        FormatError: as :func:`read_bytes`, or the content is not text in ``encoding``.
    """
    data = read_bytes(path, what)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        kind = "UTF-8 text" if encoding == "utf-8" else f"{encoding} text"
        raise FormatError(f"{path}: not {kind}") from exc


def refuse_overwrite(*paths: Path, force: bool) -> None:
    """Refuse to replace existing files unless ``force`` (key files are never lost by mistake).

    Raises:
        FormatError: one of ``paths`` exists and ``force`` is false.
    """
    if force:
        return
    for path in paths:
        if path.exists():
            raise FormatError(f"{path}: already exists (use --force to overwrite)")


def write_private(path: Path, data: bytes) -> None:
    """Write a secret: a fresh 0600 file, synced, renamed into place.

    The secret never sits in a wider-mode file, and a crash never leaves half a key behind.
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: a crash leaves the old file or the new, never half."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
