"""Reading and writing the files people hand to sealog: the one place that opens them.

Every file sealog reads on someone's say-so (a key, a profile, a policy, an order, evidence, a
store's files) is opened here: non-blocking (a FIFO or a device never hangs a command), checked
to be a regular file, and read only up to a size cap fitting its kind (``/dev/zero`` or a huge
sparse file given as a key costs nothing). Every missing, unreadable, oversized or undecodable
file becomes one :class:`~sealog.errors.FormatError` naming the path (escaped for a terminal),
so the command line prints one line and exits 2.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from sealog._display import printable
from sealog.errors import FormatError

__all__ = [
    "DOCUMENT_LIMIT",
    "EVIDENCE_LIMIT",
    "KEY_LIMIT",
    "LOG_LIMIT",
    "atomic_write",
    "read_bytes",
    "read_tail",
    "read_text",
    "refuse_overwrite",
    "write_private",
]

#: A key file (owner, approver, audit log): the largest, an ML-KEM-768 hybrid, is ~1.7 KiB.
KEY_LIMIT = 16 * 1024
#: A profile, a control policy, a change order, a tree head or a proof.
DOCUMENT_LIMIT = 1024 * 1024
#: Attestation evidence with its certificate chains.
EVIDENCE_LIMIT = 4 * 1024 * 1024
#: An audit log's entries or index file (a signed order is about 1 KiB: some 250 000 orders).
LOG_LIMIT = 256 * 1024 * 1024
_DEFAULT_LIMIT = DOCUMENT_LIMIT
_CHUNK = 64 * 1024


def _open(path: Path, what: str, *, follow: bool) -> int:
    """A read-only, non-blocking descriptor on a regular file (or FormatError)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    shown = printable(str(path))
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as exc:
        raise FormatError(f"{shown}: no such file") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise FormatError(f"{shown}: is a symbolic link, expected {what}") from exc
        raise FormatError(f"{shown}: cannot read ({exc.strerror})") from exc
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise FormatError(f"{shown}: is a folder, expected {what}")
        if not stat.S_ISREG(mode):
            raise FormatError(f"{shown}: not a regular file, expected {what}")
        os.set_blocking(fd, True)  # a regular file: plain reads from here on
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_fd(fd: int, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes from ``fd`` (one more tells "over the cap" from "at it")."""
    chunks = []
    left = limit + 1
    while left > 0:
        chunk = os.read(fd, min(left, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_bytes(
    path: Path, what: str = "a file", *, limit: int = _DEFAULT_LIMIT, follow: bool = True
) -> bytes:
    """The bytes of ``path``, a regular file of at most ``limit`` bytes.

    Args:
        path: the file.
        what: what was expected there, for the messages ("a key file").
        limit: the largest size a file of this kind may have.
        follow: follow a symbolic link at ``path`` (false where the host plants files).

    Raises:
        FormatError: missing, a folder, a FIFO or device, a link when ``follow`` is false,
            unreadable, or larger than ``limit``.
    """
    fd = _open(path, what, follow=follow)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise FormatError(_too_large(path, what, limit))
        try:
            data = _read_fd(fd, limit)
        except OSError as exc:
            raise FormatError(f"{printable(str(path))}: cannot read ({exc.strerror})") from exc
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FormatError(_too_large(path, what, limit))
    return data


def _too_large(path: Path, what: str, limit: int) -> str:
    return f"{printable(str(path))}: larger than {limit} bytes, too large for {what}"


def read_text(
    path: Path,
    what: str = "a file",
    encoding: str = "utf-8",
    *,
    limit: int = _DEFAULT_LIMIT,
    follow: bool = True,
) -> str:
    """The text of ``path``.

    Raises:
        FormatError: as :func:`read_bytes`, or the content is not text in ``encoding``.
    """
    data = read_bytes(path, what, limit=limit, follow=follow)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        kind = "UTF-8 text" if encoding == "utf-8" else f"{encoding} text"
        raise FormatError(f"{printable(str(path))}: not {kind}") from exc


def read_tail(path: Path, offset: int, limit: int, what: str = "a session file") -> bytes:
    """At most ``limit`` bytes of a growing file from ``offset`` (a store's session files).

    Raises:
        FormatError: missing, not a regular file, or unreadable.
    """
    fd = _open(path, what, follow=False)
    try:
        os.lseek(fd, offset, os.SEEK_SET)
        return _read_fd(fd, limit - 1)
    except OSError as exc:
        raise FormatError(f"{printable(str(path))}: cannot read ({exc.strerror})") from exc
    finally:
        os.close(fd)


def refuse_overwrite(*paths: Path, force: bool) -> None:
    """Refuse to replace existing files unless ``force`` (key files are never lost by mistake).

    Raises:
        FormatError: one of ``paths`` exists and ``force`` is false.
    """
    if force:
        return
    for path in paths:
        if path.exists() or path.is_symlink():
            raise FormatError(f"{printable(str(path))}: already exists (use --force to overwrite)")


def _fresh_temporary(path: Path, prefix: str, mode: int) -> tuple[Path, int]:
    """Create a new temporary beside ``path``: never an existing file, never through a link.

    ``O_EXCL | O_NOFOLLOW`` make a planted ``PREFIX.key.tmp`` (a file or a symbolic link the
    attacker holds open) fail the call instead of receiving the secret; a leftover from a crash
    is removed (unlinking a link removes the link, not its target) and creation tried once more.
    """
    tmp = path.with_name(prefix)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for attempt in range(2):
        try:
            return tmp, os.open(tmp, flags, mode)
        except FileExistsError:
            if attempt:
                raise
            tmp.unlink()
    raise AssertionError("unreachable")  # pragma: no cover


def write_private(path: Path, data: bytes) -> None:
    """Write a secret: a fresh 0600 file, synced, renamed into place.

    The secret never sits in a wider-mode file or in a file someone else created, and a crash
    never leaves half a key behind.
    """
    tmp, fd = _fresh_temporary(path, path.name + ".tmp", 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: a crash leaves the old file or the new, never half."""
    tmp, fd = _fresh_temporary(path, f".{path.name}.tmp", 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
