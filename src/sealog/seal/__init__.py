"""Sealing: owner keys, the session header, the key schedule, frames, records.

Importing this package needs only the standard library (record rows are built inside
workload interpreters); the owner-key names load ``cryptography`` on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sealog._lazy import lazy_getattr
from sealog.seal._row import Row

if TYPE_CHECKING:
    from sealog.seal._evidence import REPORT_DATA_SIZE, Evidence
    from sealog.seal._header import Header, LaunchConfig, check_keep_id
    from sealog.seal._keys import (
        KEMS,
        OwnerPrivateKey,
        OwnerPublicKey,
        generate_owner_key,
        write_key_pair,
    )
    from sealog.seal._records import ExceptionInfo, Record
    from sealog.seal._session_file import read_session_header

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

# Everything but the row loads on first use: workload interpreters import this package for
# the row alone, and the owner-key names would load ``cryptography``.
__getattr__ = lazy_getattr(
    "sealog.seal",
    {
        **dict.fromkeys(
            ("KEMS", "OwnerPrivateKey", "OwnerPublicKey", "generate_owner_key", "write_key_pair"),
            "sealog.seal._keys",
        ),
        **dict.fromkeys(("REPORT_DATA_SIZE", "Evidence"), "sealog.seal._evidence"),
        **dict.fromkeys(("Header", "LaunchConfig", "check_keep_id"), "sealog.seal._header"),
        **dict.fromkeys(("ExceptionInfo", "Record"), "sealog.seal._records"),
        "read_session_header": "sealog.seal._session_file",
    },
)
