"""A folder-backed, append-only Merkle tree log (RFC 9162) with signed tree heads.

Layout of a log folder (all multi-byte integers big-endian):

* ``log.pub``: the log's Ed25519 public key, one line (``sealog-ed25519-pub:v1:...``).
* ``log.key``: the log's Ed25519 private key, PEM PKCS #8, mode 0600; only ``append`` needs it.
* ``entries.bin``: the entries, each as ``u32 length || bytes``, only ever appended.
* ``index.bin``: one 44-byte record per entry: ``u64 offset || u32 length || leaf hash (32)``,
  so proofs are made without reading the entries.
* ``sth.json``: the latest signed tree head, replaced atomically after every append.

The host that keeps the folder is not trusted: :meth:`AuditLog.verify` recomputes every leaf
hash and the root, checks the tree head's signature, and checks that a tree head seen earlier is
a prefix of today's log (a consistency proof), which is how a fork or a rewrite is caught.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sealog._files import LOG_LIMIT, read_bytes, read_tail
from sealog._strict import strict_json
from sealog.audit._keys import SigningKey, VerifyKey, write_private_key
from sealog.audit._merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
)
from sealog.errors import FormatError, VerificationError

__all__ = ["AppendResult", "AuditLog", "LogVerification", "SignedTreeHead"]

_STH_DOMAIN = b"sealog/sth/v1\n"
_STH_FORMAT = "sealog-sth/v1"
_U64 = 1 << 64
_INDEX = struct.Struct(">QI32s")
_LEN = struct.Struct(">I")
#: The largest entry the log accepts; change orders are a few kilobytes.
MAX_ENTRY = 1 << 20

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(value: object, what: str, source: str) -> bytes:
    if not isinstance(value, str):
        raise FormatError(f"{source}: {what}: expected a base64 string, got {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"{source}: {what}: not valid base64") from exc


def _uint(value: object, what: str, source: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < _U64:
        raise FormatError(f"{source}: {what}: expected an integer 0 to 2^64-1, got {value!r}")
    return value


@dataclass(frozen=True)
class SignedTreeHead:
    """A log's signed statement "my tree of ``size`` entries has root ``root_hash``".

    What is signed is ``b"sealog/sth/v1\\n" || u64 size || u64 timestamp || root_hash`` (big
    endian), never the JSON form.

    Attributes:
        size: the number of entries in the tree.
        root_hash: the 32-byte Merkle tree hash of those entries.
        timestamp: when the head was signed, milliseconds since the Unix epoch (UTC).
        signature: the log key's 64-byte Ed25519 signature.
    """

    size: int
    root_hash: bytes
    timestamp: int
    signature: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.size < _U64 or not 0 <= self.timestamp < _U64:
            raise FormatError("tree head: size and timestamp must be 64-bit unsigned integers")
        if len(self.root_hash) != HASH_SIZE:
            raise FormatError(f"tree head: root hash is {len(self.root_hash)} bytes, expected 32")
        if len(self.signature) != 64:
            raise FormatError(f"tree head: signature is {len(self.signature)} bytes, expected 64")

    @staticmethod
    def signed_bytes(size: int, root: bytes, timestamp: int) -> bytes:
        """The canonical, domain-separated encoding that the log key signs."""
        return _STH_DOMAIN + struct.pack(">QQ", size, timestamp) + root

    @classmethod
    def sign(cls, key: SigningKey, size: int, root: bytes, timestamp: int) -> SignedTreeHead:
        """Sign a tree head with the log key."""
        return cls(size, root, timestamp, key.sign(cls.signed_bytes(size, root, timestamp)))

    @property
    def time(self) -> datetime:
        """The timestamp as an aware UTC datetime (the largest one for a timestamp past 9999)."""
        try:
            return datetime.fromtimestamp(self.timestamp / 1000, UTC)
        except (OverflowError, ValueError, OSError):
            # A u64 of milliseconds reaches far past what datetime holds; the value is still
            # checked as an integer wherever it matters (freshness, signatures).
            return datetime.max.replace(tzinfo=UTC)

    def verify(self, key: VerifyKey) -> None:
        """Check the signature with the log's public key.

        Raises:
            VerificationError: the signature is not the key's over this head.
        """
        if not key.verify(
            self.signature, self.signed_bytes(self.size, self.root_hash, self.timestamp)
        ):
            raise VerificationError(
                f"tree head (size {self.size}) is not signed by audit log key {key.key_id}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object form."""
        return {
            "format": _STH_FORMAT,
            "size": self.size,
            "root_hash": _b64(self.root_hash),
            "timestamp": self.timestamp,
            "signature": _b64(self.signature),
        }

    def to_json(self) -> str:
        """The JSON text form (one object, indented, with a line end)."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, obj: object, *, source: str = "tree head") -> SignedTreeHead:
        """Parse the JSON object form.

        Raises:
            FormatError: missing, unknown or malformed fields.
        """
        if not isinstance(obj, dict):
            raise FormatError(f"{source}: expected a JSON object")
        fields = {"format", "size", "root_hash", "timestamp", "signature"}
        if set(obj) != fields:
            extra = sorted(set(obj) - fields)
            missing = sorted(fields - set(obj))
            raise FormatError(
                f"{source}: tree head fields: unknown {extra or 'none'}, "
                f"missing {missing or 'none'}"
            )
        if obj["format"] != _STH_FORMAT:
            raise FormatError(f"{source}: format: expected {_STH_FORMAT!r}, got {obj['format']!r}")
        try:
            return cls(
                _uint(obj["size"], "size", source),
                _unb64(obj["root_hash"], "root_hash", source),
                _uint(obj["timestamp"], "timestamp", source),
                _unb64(obj["signature"], "signature", source),
            )
        except FormatError as exc:
            if str(exc).startswith(source):
                raise
            raise FormatError(f"{source}: {exc}") from exc

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "tree head") -> SignedTreeHead:
        """Parse the JSON text form.

        Raises:
            FormatError: not JSON or not a tree head.
        """
        try:
            obj = strict_json(text, source)
        except (ValueError, UnicodeDecodeError) as exc:
            raise FormatError(f"{source}: not valid JSON") from exc
        return cls.from_dict(obj, source=source)

    @classmethod
    def load(cls, path: Path) -> SignedTreeHead:
        """Read a tree head file (``sth.json`` or one saved earlier).

        Raises:
            FormatError: missing, unreadable or malformed file.
        """
        return cls.from_json(read_bytes(path, "a tree head file"), source=str(path))


class AppendResult(NamedTuple):
    """What :meth:`AuditLog.append` returns: enough for the Keep to check inclusion."""

    leaf_index: int
    inclusion_proof: list[bytes]
    tree_head: SignedTreeHead


@dataclass(frozen=True)
class LogVerification:
    """The result of a successful :meth:`AuditLog.verify`.

    Attributes:
        size: the number of entries checked.
        root_hash: the recomputed root.
        tree_head: the latest signed tree head, whose signature verified.
        since_size: the size of the earlier tree head proven to be a prefix, or None.
    """

    size: int
    root_hash: bytes
    tree_head: SignedTreeHead
    since_size: int | None = None


class AuditLog:
    """An append-only Merkle tree log kept in a folder.

    Create one with :meth:`init`, open one with :meth:`open`. The clock that timestamps tree
    heads is injected (``clock``) so that tests control time.
    """

    def __init__(self, directory: Path, public_key: VerifyKey, clock: Clock) -> None:
        self.directory = directory
        self.public_key = public_key
        self._clock = clock

    # -- paths ---------------------------------------------------------------------------

    @property
    def _entries(self) -> Path:
        return self.directory / "entries.bin"

    @property
    def _index(self) -> Path:
        return self.directory / "index.bin"

    @property
    def _sth(self) -> Path:
        return self.directory / "sth.json"

    # -- creation ------------------------------------------------------------------------

    @classmethod
    def init(cls, directory: Path, log_key: SigningKey, *, clock: Clock = _utcnow) -> AuditLog:
        """Create an empty log in ``directory`` (created if missing, must hold no log yet).

        Writes the key files and a signed tree head for the empty tree.

        Raises:
            FormatError: the folder already holds a log, or is a file.
        """
        if directory.exists() and not directory.is_dir():
            raise FormatError(f"{directory}: is a file, expected a folder for the audit log")
        directory.mkdir(parents=True, exist_ok=True)
        for name in ("log.pub", "log.key", "entries.bin", "index.bin", "sth.json"):
            if (directory / name).exists():
                raise FormatError(f"{directory}: already holds an audit log ({name} exists)")
        write_private_key(log_key, directory / "log.key")
        (directory / "log.pub").write_text(log_key.public_key.to_text() + "\n")
        (directory / "entries.bin").touch()
        (directory / "index.bin").touch()
        log = cls(directory, log_key.public_key, clock)
        log._write_sth(log_key, 0, EMPTY_ROOT)
        return log

    @classmethod
    def open(cls, directory: Path, *, clock: Clock = _utcnow) -> AuditLog:
        """Open an existing log folder.

        Raises:
            FormatError: not a log folder, or its public key is malformed.
        """
        if not directory.is_dir():
            raise FormatError(f"{directory}: no such audit log folder")
        pub = directory / "log.pub"
        for path in (
            pub,
            directory / "entries.bin",
            directory / "index.bin",
            directory / "sth.json",
        ):
            if not path.is_file():
                raise FormatError(f"{directory}: not an audit log ({path.name} is missing)")
        return cls(directory, VerifyKey.load(pub), clock)

    # -- reading -------------------------------------------------------------------------

    def _index_records(self) -> list[tuple[int, int, bytes]]:
        data = read_bytes(self._index, "an audit log index", limit=LOG_LIMIT)
        # A torn trailing record (a crash mid-append) is ignored here; verify() reports it.
        whole = len(data) - len(data) % _INDEX.size
        return [_INDEX.unpack_from(data, off) for off in range(0, whole, _INDEX.size)]

    @property
    def size(self) -> int:
        """The number of entries."""
        return len(self._index_records())

    def leaf_hashes(self) -> list[bytes]:
        """The leaf hash of every entry, as recorded in the index."""
        return [leaf for _, _, leaf in self._index_records()]

    def entry(self, index: int) -> bytes:
        """The bytes of entry ``index``.

        Raises:
            FormatError: no such entry.
        """
        records = self._index_records()
        if not 0 <= index < len(records):
            raise FormatError(f"no entry {index}: the log holds {len(records)}")
        offset, length, _ = records[index]
        # Through _files: the log's folder may sit on the host, which can make this a FIFO.
        data = read_tail(self._entries, offset + _LEN.size, length, "an audit log")
        if len(data) != length:
            raise VerificationError(f"entry {index}: entries file is truncated")
        return data

    def entries(self) -> Iterator[tuple[int, bytes]]:
        """Every ``(index, entry bytes)`` in order (one read of the index, one open of the file)."""
        records = self._index_records()
        with self._entries.open("rb") as fh:
            for i, (offset, length, _) in enumerate(records):
                fh.seek(offset + _LEN.size)
                data = fh.read(length)
                if len(data) != length:
                    raise VerificationError(f"entry {i}: entries file is truncated")
                yield i, data

    def tree_head(self) -> SignedTreeHead:
        """The latest signed tree head (not verified; see :meth:`verify`)."""
        return SignedTreeHead.load(self._sth)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The proof that entry ``index`` is in the tree of ``size`` entries (default: all)."""
        return inclusion_proof(self.leaf_hashes(), index, size)

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        """The proof that the tree of ``old`` entries is a prefix of that of ``new`` (or all)."""
        return consistency_proof(self.leaf_hashes(), old, new)

    # -- writing -------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # One appender at a time: two interleaved appends would corrupt the index.
        with (self.directory / "lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _signing_key(self) -> SigningKey:
        key = SigningKey.load(self.directory / "log.key")
        if key.public_key != self.public_key:
            raise FormatError(f"{self.directory}: log.key does not match log.pub")
        return key

    def _write_sth(self, key: SigningKey, size: int, root: bytes) -> SignedTreeHead:
        timestamp = int(self._clock().timestamp() * 1000)
        sth = SignedTreeHead.sign(key, size, root, timestamp)
        tmp = self._sth.with_name("sth.json.tmp")
        with tmp.open("w") as fh:
            fh.write(sth.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._sth)
        return sth

    def append(self, entry: bytes) -> AppendResult:
        """Append one entry and sign a new tree head.

        Args:
            entry: the entry's bytes (for change orders, :meth:`ChangeOrder.entry_bytes`).

        Returns:
            ``(leaf_index, inclusion_proof, tree_head)``: the proof is for the new tree head.

        Raises:
            FormatError: an empty or oversized entry, or no usable log key.
        """
        if not entry or len(entry) > MAX_ENTRY:
            raise FormatError(f"audit log entry must be 1 to {MAX_ENTRY} bytes, got {len(entry)}")
        key = self._signing_key()
        with self._locked():
            records = self._index_records()
            end = records[-1][0] + _LEN.size + records[-1][1] if records else 0
            leaf = leaf_hash(entry)
            # Entries first, index second: a crash between the two leaves unindexed bytes that
            # the next append overwrites, never an index record pointing at nothing.
            with self._entries.open("r+b") as fh:
                fh.truncate(end)
                fh.seek(end)
                fh.write(_LEN.pack(len(entry)) + entry)
                fh.flush()
                os.fsync(fh.fileno())
            with self._index.open("r+b") as fh:
                fh.truncate(len(records) * _INDEX.size)
                fh.seek(len(records) * _INDEX.size)
                fh.write(_INDEX.pack(end, len(entry), leaf))
                fh.flush()
                os.fsync(fh.fileno())
            leaves = [r[2] for r in records] + [leaf]
            sth = self._write_sth(key, len(leaves), root_hash(leaves))
        index = len(leaves) - 1
        return AppendResult(index, inclusion_proof(leaves, index), sth)

    # -- verification --------------------------------------------------------------------

    def verify(
        self, *, since: SignedTreeHead | None = None, log_key: VerifyKey | None = None
    ) -> LogVerification:
        """Check the whole log, and that an earlier tree head is a prefix of it.

        Steps: (1) the folder's key is the expected one, if given; (2) every index record points
        at the next entry and every leaf hash is recomputed from the entry bytes; (3) no bytes
        follow the last entry; (4) the latest tree head verifies with the log key and names the
        recomputed size and root; (5) ``since``, if given, verifies with the log key, is not
        larger than the log, and is proven a prefix by a consistency proof (RFC 9162 2.1.4).

        Args:
            since: a tree head seen before (kept by an auditor or a Keep).
            log_key: the log key the caller trusts; by default the folder's ``log.pub``.

        Returns:
            What was checked.

        Raises:
            VerificationError: any check fails (the log was modified, rolled back or forked).
        """
        key = self._checked_key(log_key)
        leaves = self._recomputed_leaves()
        root = root_hash(leaves)
        sth = self._checked_head(key, leaves, root)
        if since is None:
            return LogVerification(len(leaves), root, sth)
        _check_prefix(since, key, leaves, root)
        return LogVerification(len(leaves), root, sth, since.size)

    def _checked_key(self, log_key: VerifyKey | None) -> VerifyKey:
        """Step 1: the folder's key is the one the caller trusts."""
        key = self.public_key
        if log_key is not None and log_key != key:
            raise VerificationError(
                f"audit log key is {key.key_id}, expected {log_key.key_id} (log.pub replaced)"
            )
        return key

    def _recomputed_leaves(self) -> list[bytes]:
        """Steps 2 and 3: every index record points at the next entry, every leaf hash is
        recomputed from the entry bytes, and nothing follows the last entry."""
        index = read_bytes(self._index, "an audit log index", limit=LOG_LIMIT)
        data = read_bytes(self._entries, "an audit log", limit=LOG_LIMIT)
        if len(index) % _INDEX.size:
            raise VerificationError(
                f"index is {len(index)} bytes, not a whole number of {_INDEX.size}-byte records"
            )
        leaves: list[bytes] = []
        expected_offset = 0
        for i, off in enumerate(range(0, len(index), _INDEX.size)):
            offset, length, recorded = _INDEX.unpack_from(index, off)
            if offset != expected_offset:
                raise VerificationError(
                    f"entry {i}: index says offset {offset}, expected {expected_offset}"
                )
            end = offset + _LEN.size + length
            if end > len(data) or _LEN.unpack_from(data, offset)[0] != length:
                raise VerificationError(f"entry {i}: entries file does not match the index")
            leaf = leaf_hash(data[offset + _LEN.size : end])
            if leaf != recorded:
                raise VerificationError(f"entry {i}: leaf hash mismatch (entry modified)")
            leaves.append(leaf)
            expected_offset = end
        if len(data) != expected_offset:
            raise VerificationError(
                f"entries file has {len(data) - expected_offset} bytes after entry "
                f"{len(leaves) - 1} that no index record covers"
            )
        return leaves

    def _checked_head(self, key: VerifyKey, leaves: list[bytes], root: bytes) -> SignedTreeHead:
        """Step 4: the latest tree head verifies and names the recomputed size and root."""
        try:
            sth = self.tree_head()
        except FormatError as exc:
            raise VerificationError(f"latest tree head is unreadable: {exc}") from exc
        sth.verify(key)
        if sth.size != len(leaves):
            raise VerificationError(
                f"tree head covers {sth.size} entries, the log holds {len(leaves)}"
            )
        if sth.root_hash != root:
            raise VerificationError(f"tree head root does not match the {len(leaves)} entries")
        return sth


def _check_prefix(
    since: SignedTreeHead, key: VerifyKey, leaves: list[bytes], root: bytes
) -> None:
    """Step 5: a tree head seen before verifies and is proven a prefix of the log."""
    since.verify(key)
    if since.size > len(leaves):
        raise VerificationError(
            f"log rolled back: a tree head seen before covers {since.size} entries, "
            f"the log holds {len(leaves)}"
        )
    if since.size == 0:
        if since.root_hash != EMPTY_ROOT:
            raise VerificationError("tree head of size 0 does not have the empty root")
        return
    proof = consistency_proof(leaves, since.size)
    try:
        verify_consistency(since.size, len(leaves), proof, since.root_hash, root)
    except VerificationError as exc:
        raise VerificationError(
            f"log is not consistent with the tree head of size {since.size} seen before "
            f"(forked or rewritten): {exc}"
        ) from exc
