"""The owner's side: read, verify, and what the host can see."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sealog._display import printable
from sealog._lazy import lazy_getattr
from sealog.host import HostView, SessionView, host_view
from sealog.owner._output import LineWriter, RecordView, TextRenderer, json_line, record_json_line
from sealog.owner._reader import INTACT, OPEN, SessionReader, Verdict
from sealog.owner._row_lines import select_json_lines, select_text_lines
from sealog.owner._select import (
    LEVEL_NAMES,
    Selection,
    parse_level,
    parse_time,
    select_records,
    session_records,
)
from sealog.owner._store_ops import (
    load_session,
    read_store,
    readers,
    split_session_spec,
    verify_store,
)
from sealog.owner._timeline import ProfileSpan
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import ExceptionInfo, Record

if TYPE_CHECKING:
    from sealog.owner._diff import DiffResult, Divergence, Located, diff_sessions
    from sealog.owner._diff_stream import DiffReport, StoreDiff, diff_stores, diff_streams
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
    from sealog.owner._follow import follow_store
    from sealog.owner._progress import ProgressBar
    from sealog.owner._render import LEVEL_STYLE, print_record, print_verdict, record_json
    from sealog.owner._transparency import (
        SessionPresence,
        TransparencyReport,
        check_transparency,
    )

__all__ = [
    "INTACT",
    "LEVEL_NAMES",
    "LEVEL_STYLE",
    "OPEN",
    "DiffReport",
    "DiffResult",
    "Divergence",
    "ExceptionInfo",
    "HostView",
    "LineWriter",
    "Located",
    "OwnerPrivateKey",
    "ProfileSpan",
    "ProgressBar",
    "Record",
    "RecordView",
    "Selection",
    "SessionPresence",
    "SessionReader",
    "SessionView",
    "StoreDiff",
    "StreamSelection",
    "StreamSession",
    "TextRenderer",
    "TransparencyReport",
    "Verdict",
    "check_transparency",
    "diff_sessions",
    "diff_stores",
    "diff_streams",
    "follow_store",
    "host_view",
    "json_line",
    "list_stream",
    "load_session",
    "merge_records",
    "open_source",
    "parse_level",
    "parse_time",
    "parse_when",
    "print_record",
    "print_verdict",
    "printable",
    "pull",
    "read_merged",
    "read_store",
    "readers",
    "record_json",
    "record_json_line",
    "select_json_lines",
    "select_records",
    "select_text_lines",
    "session_records",
    "split_session_spec",
    "verify_store",
]

#: Comparing sessions (its text rules), following a store, drawing progress, the rich console
#: printers, the fleet (asyncio, NATS) and the transparency check (the audit log) are imported
#: on first use: ``sealog read`` and ``verify`` of a folder start without them.
_LAZY: dict[str, str] = {
    "DiffReport": "sealog.owner._diff_stream",
    "DiffResult": "sealog.owner._diff",
    "Divergence": "sealog.owner._diff",
    "LEVEL_STYLE": "sealog.owner._render",
    "Located": "sealog.owner._diff",
    "ProgressBar": "sealog.owner._progress",
    "StoreDiff": "sealog.owner._diff_stream",
    "diff_sessions": "sealog.owner._diff",
    "diff_stores": "sealog.owner._diff_stream",
    "diff_streams": "sealog.owner._diff_stream",
    "follow_store": "sealog.owner._follow",
    "print_record": "sealog.owner._render",
    "print_verdict": "sealog.owner._render",
    "record_json": "sealog.owner._render",
    "StreamSelection": "sealog.owner._fleet",
    "StreamSession": "sealog.owner._fleet",
    "list_stream": "sealog.owner._fleet",
    "merge_records": "sealog.owner._fleet",
    "open_source": "sealog.owner._fleet",
    "parse_when": "sealog.owner._fleet",
    "pull": "sealog.owner._fleet",
    "read_merged": "sealog.owner._fleet",
    "SessionPresence": "sealog.owner._transparency",
    "TransparencyReport": "sealog.owner._transparency",
    "check_transparency": "sealog.owner._transparency",
}


__getattr__ = lazy_getattr("sealog.owner", _LAZY)
