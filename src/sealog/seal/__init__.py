"""Sealing: owner keys, the session header, the key schedule, frames, records."""

from sealog.seal._evidence import REPORT_DATA_SIZE, Evidence
from sealog.seal._header import Header, LaunchConfig
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
    "generate_owner_key",
    "read_session_header",
    "write_key_pair",
]
