"""Ed25519 signing keys of approvers and of the audit log.

File formats:

* ``PREFIX.key``: the private key as PEM, PKCS #8, unencrypted, file mode 0600.
* ``PREFIX.pub``: one line, ``sealog-ed25519-pub:v1:<base64 of the raw 32-byte public key>``.

The key id is the first 16 hex digits of SHA-256 over the raw public key
(:attr:`VerifyKey.key_id`). Approver keys and audit-log keys have the same format.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sealog._files import KEY_LIMIT, read_bytes, refuse_overwrite, write_private
from sealog.audit._policy import VerifyKey
from sealog.errors import FormatError

__all__ = ["SigningKey", "VerifyKey", "write_key_pair"]


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key that signs change orders or tree heads.

    Attributes:
        raw: the 32-byte private seed (RFC 8032).
    """

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise FormatError(f"Ed25519 private key is {len(self.raw)} bytes, expected 32")

    def __repr__(self) -> str:
        # Never print the seed, not even in a traceback.
        return f"SigningKey(key_id={self.public_key.key_id!r})"

    def _key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.raw)

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh random key."""
        return cls(Ed25519PrivateKey.generate().private_bytes_raw())

    @property
    def public_key(self) -> VerifyKey:
        """The matching public key."""
        return VerifyKey(self._key().public_key().public_bytes_raw())

    @property
    def key_id(self) -> str:
        """The public key's id."""
        return self.public_key.key_id

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature over ``message``."""
        return self._key().sign(message)

    def to_pem(self) -> bytes:
        """The ``PREFIX.key`` file content (PKCS #8 PEM, unencrypted)."""
        return self._key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def from_pem(cls, data: bytes, *, source: str = "private key") -> SigningKey:
        """Parse a PKCS #8 PEM Ed25519 private key.

        Raises:
            FormatError: not PEM, encrypted, or not an Ed25519 key.
        """
        if data.lstrip().startswith(b"sealog-ed25519-pub:"):
            raise FormatError(f"{source}: this is a public key; a private key (.key) is needed")
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise FormatError(
                f"{source}: not an unencrypted PEM private key (expected PKCS #8 Ed25519)"
            ) from exc
        except Exception as exc:  # unsupported algorithms surface as several types
            raise FormatError(f"{source}: cannot load private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise FormatError(f"{source}: expected an Ed25519 private key, got another algorithm")
        return cls(key.private_bytes_raw())

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        """Read a ``PREFIX.key`` file.

        Raises:
            FormatError: missing, unreadable or malformed file.
        """
        return cls.from_pem(read_bytes(path, "a key file", limit=KEY_LIMIT), source=str(path))


def write_private_key(key: SigningKey, path: Path) -> None:
    """Write ``key`` as PEM to ``path``, created with mode 0600 and renamed into place."""
    write_private(path, key.to_pem())


def write_key_pair(key: SigningKey, prefix: Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write ``PREFIX.key`` (PEM, mode 0600) and ``PREFIX.pub`` (one line).

    Args:
        key: the key to write.
        prefix: the path without the ``.key`` / ``.pub`` suffix.
        force: overwrite existing files.

    Returns:
        The private and the public key paths.

    Raises:
        FormatError: a file exists and ``force`` is false.
    """
    key_path = prefix.with_name(prefix.name + ".key")
    pub_path = prefix.with_name(prefix.name + ".pub")
    refuse_overwrite(key_path, pub_path, force=force)
    write_private_key(key, key_path)
    pub_path.write_text(key.public_key.to_text() + "\n")
    return key_path, pub_path
