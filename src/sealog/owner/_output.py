"""Fast, streaming output for the owner's commands: plain text lines and JSON lines.

Reading is where the owner spends their time, and a store holds hundreds of thousands of
records, so the per-record cost of printing matters as much as the cost of decrypting. Three
choices keep it low:

* a record becomes one ``str`` built from pre-computed parts (the time prefix is formatted once
  per second of log time, the level's text once per level), never through a console object;
* JSON lines are assembled from the record's attributes in a fixed key order with the C string
  escaper, instead of building a dictionary and handing it to a generic encoder;
* lines are written in chunks (:class:`LineWriter`), one ``write`` per few hundred records.

Colour is plain ANSI escapes, used only when the caller says the output is a terminal.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from itertools import islice
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, NamedTuple, TextIO

from sealog._display import printable
from sealog.seal._records import Record, level_name

__all__ = [
    "LineWriter",
    "RecordView",
    "TextRenderer",
    "json_head",
    "json_line",
    "json_tail",
    "record_json_line",
]

#: For values other than strings (fields, exceptions): encoders made once, compact for JSON
#: lines and spaced for people.
_encode = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":")).encode
_encode_text = json.JSONEncoder(ensure_ascii=False, default=str).encode
_string: Any = encode_basestring
#: The C encoder behind json.dumps, made once: JSONEncoder.encode builds a new one per call for
#: a container, which was most of the cost of a record's fields. Fields and exceptions come from
#: parsed JSON, so they hold no cycles and the cycle check (``markers``) is left out.
_c_encode = (
    c_make_encoder(None, str, encode_basestring, None, ":", ",", False, False, True)
    if c_make_encoder is not None
    else None
)
_c_encode_text = (
    c_make_encoder(None, str, encode_basestring, None, ": ", ", ", False, False, True)
    if c_make_encoder is not None
    else None
)
_LEVEL_NAMES: dict[int, str] = {}
#: The start of a session's JSON lines (a session has one Keep), and the end for a profile.
_HEADS: dict[tuple[str, str], str] = {}
_TAILS: dict[str, str] = {}


def _encode_value(value: Any, *, spaced: bool = False) -> str:
    c_encode = _c_encode_text if spaced else _c_encode
    fallback = _encode_text if spaced else _encode
    if c_encode is None:  # pragma: no cover - an interpreter without the C accelerator
        return fallback(value)
    try:
        return "".join(c_encode(value, 0))
    except RecursionError:  # a Record built by hand with a cycle: let json name the problem
        return fallback(value)


def _level_json(level: int) -> str:
    text = _LEVEL_NAMES.get(level)
    if text is None:
        text = _LEVEL_NAMES[level] = _string(level_name(level))
    return text


#: Fields too long for a terminal line (the sealed control policy, order bundles): --json has them.
_LONG_FIELDS = frozenset({"policy", "bundle"})

_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_CYAN = "\x1b[36m"
_MAGENTA = "\x1b[35m"
_RED = "\x1b[31m"
_LEVEL_COLOUR = {
    "DEBUG": "\x1b[2m",
    "INFO": "\x1b[32m",
    "WARNING": "\x1b[33m",
    "ERROR": "\x1b[1;31m",
    "CRITICAL": "\x1b[1;37;41m",
}


class RecordView(NamedTuple):
    """A record with where it comes from, as the owner's commands print it.

    A named tuple rather than a frozen dataclass: one is made per record printed, and a tuple
    is several times cheaper to make.

    Attributes:
        session: the session id.
        keep: the Keep's id from the session header ("" when unknown).
        profile: the profile in force when the record was logged.
        record: the record.
        launch_profile: the session's launch profile (text output tags records logged under
            another one).
    """

    session: str
    keep: str
    profile: str
    record: Record
    launch_profile: str = ""


def _time_prefix(second: int) -> str:
    try:
        return dt.datetime.fromtimestamp(second, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, OverflowError, OSError):
        # A time no calendar date holds (only a faulty sealer writes one): its number of
        # seconds, rather than a traceback.
        return f"@{second}"


class TextRenderer:
    """Plain text lines, one per record (plus its traceback), optionally coloured.

    Args:
        colour: wrap parts in ANSI colours (only for a terminal).
        session_column: start each line with the session id's first 8 characters.
        keep_column: start each line with the Keep's id.
    """

    def __init__(
        self, *, colour: bool = False, session_column: bool = False, keep_column: bool = False
    ) -> None:
        self._colour = colour
        self._session = session_column
        self._keep = keep_column
        self._second = -1
        self._prefix = ""
        self._levels: dict[int, str] = {}
        self._cols: dict[str, str] = {}
        self._cols_on = session_column or keep_column

    def _level(self, level: int) -> str:
        text = self._levels.get(level)
        if text is None:
            name = level_name(level)
            text = f"{name:<8} "
            if self._colour:
                text = f"{_LEVEL_COLOUR.get(name, '')}{name:<8}{_RESET} "
            self._levels[level] = text
        return text

    def _columns(self, session: str, keep: str) -> str:
        """The Keep and session columns of a session (made once per session)."""
        text = self._cols.get(session)
        if text is None:
            parts = []
            if self._keep:
                parts.append(printable(keep))
            if self._session:
                parts.append(session[:8])
            text = "".join(f"{_DIM}{p}{_RESET} " if self._colour else p + " " for p in parts)
            self._cols[session] = text
        return text

    def render(self, view: RecordView) -> str:
        """The text of one record, ending with a newline."""
        record = view.record
        line = self.row_line(
            view.session,
            view.keep,
            view.profile,
            view.launch_profile,
            record.time,
            record.level,
            record.source,
            record.logger,
            record.message,
            record.fields,
        )
        if record.exception is None:
            return line
        text = printable(record.exception.render(), keep_newlines=True)
        return line + (f"{_RED}{text}{_RESET}\n" if self._colour else text + "\n")

    def row_line(
        self,
        session: str,
        keep: str,
        profile: str,
        launch_profile: str,
        t: float,
        level: int,
        source: str,
        logger: str,
        message: str,
        fields: Mapping[str, Any] | None,
    ) -> str:
        """The line of a record without an exception, from its parts (see :class:`RecordView`
        and :class:`Record`), ending with a newline."""
        second = int(t)
        if second != self._second:
            self._second = second
            self._prefix = _time_prefix(second)
        millis = int((t - second) * 1000)
        colour = self._colour
        tag = ""
        if profile and profile != launch_profile:
            shown = printable(profile)
            tag = f"{_MAGENTA}[{shown}]{_RESET} " if colour else f"[{shown}] "
        fields_text = ""
        if fields:
            shown = printable(_fields_text(fields))
            fields_text = f" {_DIM}{shown}{_RESET}" if colour else " " + shown
        cols = self._columns(session, keep) if self._cols_on else ""
        # One record, one line: a newline or an escape sequence in what the workload logged
        # cannot fake another line or rewrite the screen.
        where = f"{printable(source)}:{printable(logger)}"
        message = printable(message)
        if colour:
            return (
                f"{_DIM}{self._prefix}.{millis:03d}{_RESET} {cols}{self._level(level)}"
                f"{tag}{_CYAN}{where}{_RESET} {message}{fields_text}\n"
            )
        return (
            f"{self._prefix}.{millis:03d} {cols}{self._level(level)}{tag}"
            f"{where} {message}{fields_text}\n"
        )


def _fields_text(fields: Mapping[str, Any]) -> str:
    if _LONG_FIELDS.isdisjoint(fields):
        return _encode_value(fields, spaced=True)
    short = {k: ("..." if k in _LONG_FIELDS else v) for k, v in fields.items()}
    return _encode_value(short, spaced=True)


def record_json_line(view: RecordView) -> str:
    """One record as ``sealog read --json`` prints it: a JSON object and a newline.

    Keys, in order: ``session``, ``keep``, ``time``, ``level``, ``source``, ``logger``,
    ``message``, ``template``, ``exception``, ``fields``, ``seq``, ``profile``.
    """
    r = view.record
    template = r.template
    exception = r.exception
    fields = r.fields
    head = _HEADS.get((view.session, view.keep)) or json_head(view.session, view.keep)
    tail = _TAILS.get(view.profile) or json_tail(view.profile)
    return (
        f"{head}{r.time!r},"
        f'"level":{_level_json(r.level)},"source":{_string(r.source)},'
        f'"logger":{_string(r.logger)},"message":{_string(r.message)},'
        f'"template":{"null" if template is None else _string(template)},'
        f'"exception":{"null" if exception is None else _encode_value(exception.to_row())},'
        f'"fields":{_encode_value(fields) if fields else "{}"},"seq":{r.seq}{tail}'
    )


def json_head(session: str, keep: str) -> str:
    """The start of a session's ``--json`` lines, up to the value of ``time``."""
    head = _HEADS.get((session, keep))
    if head is None:
        if len(_HEADS) > 4096:  # bounded, whoever calls it with what
            _HEADS.clear()
        head = _HEADS[session, keep] = (
            f'{{"session":{_string(session)},"keep":{_string(keep)},"time":'
        )
    return head


def json_tail(profile: str) -> str:
    """The end of a ``--json`` line for a profile, after the value of ``seq``."""
    tail = _TAILS.get(profile)
    if tail is None:
        if len(_TAILS) > 4096:
            _TAILS.clear()
        tail = _TAILS[profile] = f',"profile":{_string(profile)}}}\n'
    return tail


def json_line(obj: Any) -> str:
    """Any JSON-able object as one compact line (the shared form of every ``--json``)."""
    return _encode(obj) + "\n"


class LineWriter:
    """Collects lines and writes them in chunks: one ``write`` per ``chunk`` lines.

    Args:
        out: where to write (a text stream such as ``sys.stdout``).
        chunk: how many lines to hold before writing (1 writes every line at once, for
            following a live session).
    """

    def __init__(self, out: TextIO, chunk: int = 512) -> None:
        self._out = out
        self._chunk = chunk
        self._lines: list[str] = []

    def write(self, line: str) -> None:
        """Add one line (with its newline)."""
        lines = self._lines
        lines.append(line)
        if len(lines) >= self._chunk:
            self.flush()

    def write_all(self, lines: Iterable[str]) -> None:
        """Write every line of ``lines``, ``chunk`` at a time, then flush."""
        self.flush()
        it = iter(lines)
        write, join, chunk = self._out.write, "".join, self._chunk
        while True:
            part = join(islice(it, chunk))
            if not part:
                break
            write(part)
        self._out.flush()

    def flush(self) -> None:
        """Write what is held, and flush the stream."""
        if self._lines:
            self._out.write("".join(self._lines))
            self._lines.clear()
        self._out.flush()
