"""Sealing: owner keys, the session header, the key schedule, frames, records.

Importing this package needs only the standard library (record rows are built inside
workload interpreters); the owner-key names load ``cryptography`` on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sealog.seal._evidence import REPORT_DATA_SIZE, Evidence
from sealog.seal._header import Header, LaunchConfig, check_keep_id
from sealog.seal._records import ExceptionInfo, Record
from sealog.seal._row import Row
from sealog.seal._session_file import read_session_header

if TYPE_CHECKING:
    from sealog.seal._keys import (
        KEMS,
        OwnerPrivateKey,
        OwnerPublicKey,
        generate_owner_key,
        write_key_pair,
    )

__all__ = [
    "KEMS",
    "REPORT_DATA_SIZE",
    "Evidence",
    "ExceptionInfo",
    "Header",
    "LaunchConfig",
    "OwnerPrivateKey",
    "OwnerPublicKey",
    "Record",
    "Row",
    "check_keep_id",
    "generate_owner_key",
    "read_session_header",
    "write_key_pair",
]

_KEY_NAMES = frozenset(
    {"KEMS", "OwnerPrivateKey", "OwnerPublicKey", "generate_owner_key", "write_key_pair"}
)


def __getattr__(name: str) -> Any:
    if name in _KEY_NAMES:
        from sealog.seal import _keys  # noqa: PLC0415 - keeps the package free of cryptography

        return getattr(_keys, name)
    raise AttributeError(f"module 'sealog.seal' has no attribute {name!r}")
