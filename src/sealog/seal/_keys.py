"""The owner's key pair: the KEM key that every session's root secret is sealed to.

File formats (one line of text each, versioned, naming the KEM):

* ``PREFIX.pub``: ``sealog-owner-pub:v1:<kem>:<base64 public key>``
* ``PREFIX.key``: ``sealog-owner-key:v1:<kem>:<base64 private key>``, file mode 0600

``<kem>`` is ``x25519`` (32-byte raw keys) or ``mlkem768-x25519`` (the ML-KEM-768 seed, 64 bytes,
then the X25519 private key, 32 bytes; public: the ML-KEM-768 key, 1184 bytes, then X25519, 32).
The key id is the first 16 bytes of SHA-256 over ``kem || 0x00 || public key bytes``, in hex.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from sealog._files import KEY_LIMIT, read_bytes, refuse_overwrite, write_private
from sealog.errors import DecryptionError, FormatError

__all__ = ["KEMS", "OwnerPrivateKey", "OwnerPublicKey", "generate_owner_key", "write_key_pair"]

KEMS = ("x25519", "mlkem768-x25519")
_PUB_TAG = "sealog-owner-pub:v1"
#: Raw key sizes per KEM (the hybrid is ML-KEM-768 then X25519).
_PUBLIC_SIZES = {"x25519": 32, "mlkem768-x25519": 1184 + 32}
_PRIVATE_SIZES = {"x25519": 32, "mlkem768-x25519": 64 + 32}
_KEY_TAG = "sealog-owner-key:v1"

_PublicKey = Union[x25519.X25519PublicKey, hpke.MLKEM768X25519PublicKey]  # noqa: UP007
_PrivateKey = Union[x25519.X25519PrivateKey, hpke.MLKEM768X25519PrivateKey]  # noqa: UP007


def _suite(kem: str) -> hpke.Suite:
    hkem = hpke.KEM.X25519 if kem == "x25519" else hpke.KEM.MLKEM768_X25519
    return hpke.Suite(hkem, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


def _key_id(kem: str, public_raw: bytes) -> str:
    return hashlib.sha256(kem.encode() + b"\x00" + public_raw).hexdigest()[:32]


@dataclass(frozen=True)
class OwnerPublicKey:
    """The owner's public KEM key, as given to ``sealog run --owner``."""

    kem: str
    raw: bytes

    @property
    def key_id(self) -> str:
        """A short, stable identifier of this key (32 hex digits)."""
        return _key_id(self.kem, self.raw)

    def _key(self) -> _PublicKey:
        if self.kem == "x25519":
            return x25519.X25519PublicKey.from_public_bytes(self.raw)
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(self.raw[:1184]),
            x25519.X25519PublicKey.from_public_bytes(self.raw[1184:]),
        )

    def seal(self, secret: bytes, info: bytes) -> bytes:
        """HPKE base-mode single-shot encryption (RFC 9180) of ``secret`` to this key."""
        return _suite(self.kem).encrypt(secret, self._key(), info)

    def to_text(self) -> str:
        """The ``PREFIX.pub`` file content."""
        return f"{_PUB_TAG}:{self.kem}:{base64.b64encode(self.raw).decode()}\n"

    @classmethod
    def from_text(cls, text: str, *, source: str = "public key") -> OwnerPublicKey:
        """Parse a ``PREFIX.pub`` file.

        Raises:
            FormatError: not an owner public key, unknown KEM, or wrong length.
        """
        kem, raw = _parse_line(text, _PUB_TAG, source, "public", _PUBLIC_SIZES)
        key = cls(kem, raw)
        _check_usable(key._key, kem, "public", source)
        return key

    @classmethod
    def load(cls, path: Path) -> OwnerPublicKey:
        """Read a ``PREFIX.pub`` file.

        Raises:
            FormatError: as :meth:`from_text`; also for the owner's *private* key, which must
                never be handed to a Keep or sit on its host.
        """
        text = _read_text(path)
        if text.startswith(_KEY_TAG):
            raise FormatError(
                f"{path}: this is the owner's private key; give the public key (PREFIX.pub): "
                "the private key must never reach the Keep's host"
            )
        return cls.from_text(text, source=str(path))


@dataclass(frozen=True)
class OwnerPrivateKey:
    """The owner's private KEM key: opens every session sealed to its public half."""

    kem: str
    raw: bytes = field(repr=False)  # never printed: a traceback or a log must not show it

    def _key(self) -> _PrivateKey:
        if self.kem == "x25519":
            return x25519.X25519PrivateKey.from_private_bytes(self.raw)
        return hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(self.raw[:64]),
            x25519.X25519PrivateKey.from_private_bytes(self.raw[64:]),
        )

    @property
    def public_key(self) -> OwnerPublicKey:
        """The matching public key."""
        key = self._key()
        if isinstance(key, x25519.X25519PrivateKey):
            return OwnerPublicKey(self.kem, key.public_key().public_bytes_raw())
        seed = mlkem.MLKEM768PrivateKey.from_seed_bytes(self.raw[:64])
        xpub = x25519.X25519PrivateKey.from_private_bytes(self.raw[64:]).public_key()
        return OwnerPublicKey(
            self.kem, seed.public_key().public_bytes_raw() + xpub.public_bytes_raw()
        )

    def open(self, sealed: bytes, info: bytes) -> bytes:
        """Open what :meth:`OwnerPublicKey.seal` sealed.

        Raises:
            DecryptionError: not sealed to this key, or altered.
        """
        try:
            return _suite(self.kem).decrypt(sealed, self._key(), info)
        except Exception as exc:  # one error, no detail about which check failed
            raise DecryptionError("session key encapsulation does not open with this key") from exc

    def to_text(self) -> str:
        """The ``PREFIX.key`` file content."""
        return f"{_KEY_TAG}:{self.kem}:{base64.b64encode(self.raw).decode()}\n"

    @classmethod
    def from_text(cls, text: str, *, source: str = "private key") -> OwnerPrivateKey:
        """Parse a ``PREFIX.key`` file.

        Raises:
            FormatError: not an owner private key, unknown KEM, or wrong length.
        """
        if text.startswith(_PUB_TAG):
            raise FormatError(f"{source}: this is a public key; the owner's private key is needed")
        kem, raw = _parse_line(text, _KEY_TAG, source, "private", _PRIVATE_SIZES)
        key = cls(kem, raw)
        _check_usable(key._key, kem, "private", source)
        return key

    @classmethod
    def load(cls, path: Path) -> OwnerPrivateKey:
        """Read a ``PREFIX.key`` file."""
        return cls.from_text(_read_text(path), source=str(path))


def generate_owner_key(kem: str = "x25519") -> OwnerPrivateKey:
    """A fresh owner key pair for ``kem`` (``x25519`` or ``mlkem768-x25519``)."""
    if kem not in KEMS:
        raise FormatError(f"unknown KEM {kem!r}: expected one of {', '.join(KEMS)}")
    xkey = x25519.X25519PrivateKey.generate().private_bytes_raw()
    if kem == "x25519":
        return OwnerPrivateKey(kem, xkey)
    return OwnerPrivateKey(kem, os.urandom(64) + xkey)


def write_key_pair(key: OwnerPrivateKey, prefix: Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write ``PREFIX.key`` (mode 0600, created that way, never widened) and ``PREFIX.pub``.

    Raises:
        FormatError: a file exists and ``force`` is false.
    """
    key_path = prefix.with_name(prefix.name + ".key")
    pub_path = prefix.with_name(prefix.name + ".pub")
    refuse_overwrite(key_path, pub_path, force=force)
    write_private(key_path, key.to_text().encode())
    pub_path.write_text(key.public_key.to_text())
    return key_path, pub_path


def _read_text(path: Path) -> str:
    data = read_bytes(path, "a key file", limit=KEY_LIMIT)
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not a sealog key file (binary content)") from exc


def _check_usable(build: Callable[[], object], kem: str, half: str, source: str) -> None:
    try:
        build()
    except ValueError as exc:
        raise FormatError(f"{source}: not a valid {kem} {half} key") from exc


def _parse_line(
    text: str, tag: str, source: str, half: str, sizes: dict[str, int]
) -> tuple[str, bytes]:
    line = text.strip()
    if not line.startswith(tag + ":"):
        raise FormatError(f"{source}: not a sealog key file (expected a line starting {tag}:)")
    parts = line.split(":")
    if len(parts) != 4:
        raise FormatError(f"{source}: malformed key line (expected {tag}:<kem>:<base64>)")
    kem = parts[2]
    if kem not in KEMS:
        raise FormatError(f"{source}: unknown KEM {kem!r}, expected one of {', '.join(KEMS)}")
    try:
        raw = base64.b64decode(parts[3], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"{source}: key is not valid base64") from exc
    if len(raw) != sizes[kem]:
        got = len(raw)
        raise FormatError(f"{source}: {kem} {half} key is {got} bytes, expected {sizes[kem]}")
    return kem, raw
