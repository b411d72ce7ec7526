"""The owner's side: read, verify, and what the host can see."""

from sealog._display import printable
from sealog.owner._diff import DiffResult, Divergence, Located, diff_sessions
from sealog.owner._fleet import (
    StreamSelection,
    StreamSession,
    list_stream,
    merge_records,
    open_source,
    parse_when,
    pull,
    read_merged,
)
from sealog.owner._reader import INTACT, SessionReader, Verdict
from sealog.owner._render import LEVEL_STYLE, print_record, print_verdict, record_json
from sealog.owner._store_ops import (
    load_session,
    read_store,
    readers,
    split_session_spec,
    verify_store,
)
from sealog.owner._timeline import ProfileSpan
from sealog.owner._transparency import SessionPresence, TransparencyReport, check_transparency
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import Record

__all__ = [
    "INTACT",
    "LEVEL_STYLE",
    "DiffResult",
    "Divergence",
    "Located",
    "OwnerPrivateKey",
    "ProfileSpan",
    "Record",
    "SessionPresence",
    "SessionReader",
    "StreamSelection",
    "StreamSession",
    "TransparencyReport",
    "Verdict",
    "check_transparency",
    "diff_sessions",
    "list_stream",
    "load_session",
    "merge_records",
    "open_source",
    "parse_when",
    "print_record",
    "print_verdict",
    "printable",
    "pull",
    "read_merged",
    "read_store",
    "readers",
    "record_json",
    "split_session_spec",
    "verify_store",
]
