"""Understanding what any program prints: levels, fields and multi-line groups from its lines.

The runtime captures a workload's stdout and stderr line by line. Most programs are not Python
and do not hand sealog structured records, but they do print their level somewhere, in one of a
few common shapes. :class:`LineReader` turns one stream's lines into rows:

* a line's level is read from, in order: the profile's own ``[[lines.patterns]]``; a JSON object
  (``level``/``severity``/``lvl``/``levelname``, numeric levels as pino and bunyan write them,
  loguru's ``serialize`` form); a syslog priority prefix (``<3>``); a klog/glog header
  (``E1127 10:00:00.000000 ...``); redis's own format; logfmt (``level=error msg=...``); a
  leading level word (``ERROR``, ``[error]``, ``WARN:``, ``| ERROR |``, after an optional
  timestamp). A line in which none is found keeps its stream's level.
* JSON and logfmt lines are taken apart: the message becomes the record's message and every
  other key a field, so the profile's ``redact_fields`` applies to them. Every other line keeps
  its text as printed (only a syslog prefix and terminal colour codes are removed).
* A Python traceback (plain, loguru's or rich's), a Python fatal error with faulthandler's
  stacks, a Java stack trace, a Go panic with its goroutine dump and a Rust panic become one
  record each, their lines parsed into the record's exception (type, message, frames), so the
  profile's traceback mode decides what of it leaves (``_line_groups.py``). A group keeps at
  most ``group_lines`` lines and ``group_bytes`` bytes; further lines of the same group are
  counted in its ``lines_dropped`` field, never kept.

A group ends at the first line that does not continue it, when its stream ends, or when the
stream has been quiet for :data:`IDLE` seconds (see :func:`pump`).

Standard library only, like the rest of ``sealog.keep``'s capture half.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import select
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

from sealog.keep._line_groups import GROUP_FIRST, Group, group_start, python_exception
from sealog.profile._model import LineSettings
from sealog.seal._row import Row, make_row

_new_row = tuple.__new__

__all__ = ["IDLE", "MAX_LINE", "WORDS", "LineReader", "LineRules", "parse_line", "pump"]

#: Seconds of quiet on a stream after which a pending group is complete.
IDLE = 0.25
#: The longest line kept as one line, in bytes; a longer one is cut into several.
MAX_LINE = 1024 * 1024

_DEBUG, _INFO, _WARNING, _ERROR, _CRITICAL = 10, 20, 30, 40, 50

#: Level words as programs print them, lower case.
WORDS: dict[str, int] = {
    "trace": _DEBUG,
    "debug": _DEBUG,
    "dbg": _DEBUG,
    "verbose": _DEBUG,
    "info": _INFO,
    "inf": _INFO,
    "information": _INFO,
    "notice": _INFO,
    "success": _INFO,
    "warn": _WARNING,
    "warning": _WARNING,
    "wrn": _WARNING,
    "error": _ERROR,
    "err": _ERROR,
    "eror": _ERROR,
    "severe": _ERROR,
    "exception": _ERROR,
    "critical": _CRITICAL,
    "crit": _CRITICAL,
    "fatal": _CRITICAL,
    "panic": _CRITICAL,
    "alert": _CRITICAL,
    "emerg": _CRITICAL,
    "emergency": _CRITICAL,
    # one-letter forms (klog, and patterns that capture a single letter)
    "d": _DEBUG,
    "i": _INFO,
    "w": _WARNING,
    "e": _ERROR,
    "f": _CRITICAL,
    "c": _CRITICAL,
}

#: syslog severities 0..7 (RFC 5424 section 6.2.1).
_SYSLOG = (_CRITICAL, _CRITICAL, _CRITICAL, _ERROR, _WARNING, _INFO, _INFO, _DEBUG)
#: redis's level marks: ``.`` debug, ``-`` verbose, ``*`` notice, ``#`` warning.
_REDIS = {".": _DEBUG, "-": _DEBUG, "*": _INFO, "#": _WARNING}

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_SYSLOG_PRI = re.compile(r"<(\d{1,3})>")
_KLOG = re.compile(r"([IWEF])\d{4} \d{2}:\d{2}:\d{2}\.\d{6}\s+\d+ [^\]\s]+\] ")
_REDIS_LINE = re.compile(r"\d+:[XCSM] \d{1,2} \w{3} \d{4} \d{2}:\d{2}:\d{2}\.\d{3} ([.\-*#]) ")
# redis logs its fatal conditions at its highest level, "warning": these are errors.
_REDIS_FAILURE = re.compile(r"(?i)(fatal|failed|error|can't|unable)\b")
_TIMESTAMP = re.compile(
    r"(?:\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\]?"
    r"|\[?\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\]?"
    r"|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2})"
    r"\s*(?:\|\s*)?"
)
#: ``***``, an opening bracket or bar, a word, then a closing bracket or bar, or a colon.
_TOKEN = re.compile(r"(?:\*+\s*)?([\[(<|]\s*)?([A-Za-z]+)(\s*[\])>|]|:)?")
#: Level words that may stand at the start of a line (one letter would be any sentence's "I").
_TOKEN_LEVELS = {w: level for w, level in WORDS.items() if len(w) > 1}
#: Their first three letters: most lines start with another word, and this check is cheap.
_TOKEN_PREFIXES = frozenset(w[:3] for w in _TOKEN_LEVELS)
_LOGFMT_START = re.compile(r"[\w.\-/@]+=")
_QUOTED = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_LOGFMT_ONE = rf'[\w.\-/@]+=(?:{_QUOTED}|[^\s"]*)'
# Pairs separated by whitespace: one way to split a line, so the match is linear in its length.
_LOGFMT_LINE = re.compile(rf"\s*{_LOGFMT_ONE}(?:\s+{_LOGFMT_ONE})*\s*")
_LOGFMT_PAIR = re.compile(rf'(?<!\S)([\w.\-/@]+)=({_QUOTED}|[^\s"]*)')

_JSON_LEVEL_KEYS = ("level", "severity", "lvl", "levelname", "log.level", "loglevel")
_JSON_MESSAGE_KEYS = ("message", "msg", "event")
_JSON_EXCEPTION_KEYS = ("exception", "exc_info", "error")
_MISSING: Any = object()

Parsed = tuple[int | None, str, dict[str, Any] | None, dict[str, Any] | None]


def _word_level(value: object) -> int | None:
    """A level from what a program wrote in a level field: a word, or a pino/bunyan number."""
    if isinstance(value, str):
        level = WORDS.get(value.lower())
        return level if level is not None else WORDS.get(value.strip().lower())
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        # pino and bunyan: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal.
        if value < 30:
            return _DEBUG
        if value < 40:
            return _INFO
        if value < 50:
            return _WARNING
        return _ERROR if value < 60 else _CRITICAL
    if isinstance(value, dict):
        return _word_level(value.get("name"))
    return None


def _exception_from(value: object) -> dict[str, Any] | None:
    """An exception carried inside a JSON line: a Python traceback text or a type/message."""
    if isinstance(value, str) and "Traceback (most recent call last):" in value:
        return python_exception(value.splitlines())
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        message = value.get("message", value.get("value"))
        return {
            "type": value["type"],
            "message": None if message is None else str(message),
            "frames": [],
        }
    return None


@functools.cache
def _json_decoder() -> Callable[[str], Any]:
    """``json.loads``, through sealog's fast decoder (loaded with the first JSON line, not at
    start; an import statement per line would cost more than it saves): the same values, in
    less than half the time."""
    from sealog.seal._fast_json import decode_json  # noqa: PLC0415

    return decode_json


def _from_json(obj: dict[str, Any], text: str) -> Parsed:
    record = obj.get("record")
    if isinstance(record, dict) and isinstance(record.get("level"), dict) and "message" in record:
        # loguru's serialize=True. Its "text" repeats the record rendered with loguru's
        # diagnose output (variable values in tracebacks): never kept.
        fields = dict(record.get("extra") or {})
        for key in ("name", "function", "line"):
            if key in record:
                fields["logger" if key == "name" else key] = record[key]
        return (
            _word_level(record["level"]),
            str(record["message"]),
            fields or None,
            _exception_from(record.get("exception")),
        )
    fields = obj  # a fresh object from json.loads: taken apart in place
    # The usual keys are popped first, the others looked for only when those are missing:
    # this runs for every JSON line.
    raw_level = fields.pop("level", _MISSING)
    if raw_level is _MISSING:
        for key in _JSON_LEVEL_KEYS:
            if key in fields:
                raw_level = fields.pop(key)
                break
    message = fields.pop("msg", _MISSING)
    if message is _MISSING:
        for key in _JSON_MESSAGE_KEYS:
            if key in fields:
                message = fields.pop(key)
                break
    exc = None
    if "exception" in fields or "exc_info" in fields or "error" in fields:
        for key in _JSON_EXCEPTION_KEYS:
            if key in fields:
                exc = _exception_from(fields[key])
                if exc is not None:
                    del fields[key]
                    break
    level = None if raw_level is _MISSING else _word_level(raw_level)
    if message is _MISSING:
        return level, text, fields or None, exc
    return level, message if isinstance(message, str) else str(message), fields or None, exc


def _logfmt_fields(text: str) -> dict[str, Any] | None:
    """The ``key=value`` pairs covering the whole line, values unquoted; None if it is not
    logfmt.

    Done with ``str.split`` rather than a regular expression: this runs for every line that
    starts like a pair, and splitting is several times faster. Escaped quotes take the slow way.
    """
    if "\\" in text:
        if _LOGFMT_LINE.fullmatch(text) is None:
            return None
        out: dict[str, Any] = {}
        for key, raw in _LOGFMT_PAIR.findall(text):
            value: Any = raw
            if raw[:1] == '"':
                value = raw[1:-1]
                with contextlib.suppress(ValueError):  # a bad escape keeps the raw text
                    value = json.loads(raw)
            out[key] = value
        return out
    parts = text.split('"')
    last = len(parts) - 1
    if last % 2:
        return None  # an unbalanced quote
    fields: dict[str, Any] = {}
    for i in range(0, last + 1, 2):
        segment = parts[i]
        if i and segment and not segment[0].isspace():
            return None  # text glued to a closing quote
        for word in segment.split():
            key, eq, value = word.partition("=")
            if not eq or not key:
                return None
            fields[key] = value
        if i < last:
            # The segment's last word, "key=", takes the quoted text that follows as its value.
            if segment[-1:] != "=" or fields.get(key) != "":
                return None
            fields[key] = parts[i + 1]
    return fields or None


def _logfmt(text: str) -> Parsed | None:
    fields = _logfmt_fields(text)
    if fields is None:
        return None
    level = None
    for key in ("level", "lvl", "severity"):
        if key in fields:
            level = _word_level(fields.pop(key))
            break
    message = text
    for key in ("msg", "message", "event"):
        if key in fields:
            message = str(fields.pop(key))
            break
    return level, message, fields or None, None


def _level_token(text: str) -> int | None:
    """The level word at the start of ``text``, after an optional timestamp."""
    pos = 0
    first = text[0]
    if first.isdigit() or first == "[" or first in "JFMASOND":
        m = _TIMESTAMP.match(text)
        if m is not None:
            pos = m.end()
    if pos == 0 and first.isalpha() and text[:3].lower() not in _TOKEN_PREFIXES:
        return None
    m = _TOKEN.match(text, pos)
    if m is None:
        return None
    word = m.group(2)
    level = _TOKEN_LEVELS.get(word.lower())
    if level is None:
        return None
    end = m.end(2)
    if end < len(text) and (text[end].isalnum() or text[end] == "_"):
        return None  # "ERRORS", "Info_banner": a longer word
    # "Error handling started" is a sentence; "ERROR ...", "[error]", "error: ..." are levels.
    if m.group(1) is None and m.group(3) is None and not word.isupper():
        return None
    return level


def parse_line(text: str) -> Parsed:
    """Read one line's level, message, fields and exception with the built-in formats.

    Args:
        text: the line, without its newline and terminal colour codes.

    Returns:
        ``(level or None, message, fields or None, exception or None)``; the level is None when
        the line names none.
    """
    if not text:
        return None, text, None, None
    first = text[0]
    if first == "{" and text[-1] == "}":
        try:
            obj = _json_decoder()(text)
        except (ValueError, RecursionError):
            obj = None  # not JSON, or nested too deep to read: a line like any other
        if isinstance(obj, dict):
            return _from_json(obj, text)
    elif first == "<":
        m = _SYSLOG_PRI.match(text)
        if m is not None and int(m.group(1)) < 192:
            return _SYSLOG[int(m.group(1)) & 7], text[m.end() :], None, None
    elif first in "IWEF" and text[1:5].isdigit():
        m = _KLOG.match(text)
        if m is not None:
            return WORDS[m.group(1).lower()], text, None, None
    elif first.isdigit():
        m = _REDIS_LINE.match(text)
        if m is not None:
            level = _REDIS[m.group(1)]
            if level == _WARNING and _REDIS_FAILURE.match(text, m.end()):
                level = _ERROR
            return level, text, None, None
    if "=" in text and _LOGFMT_START.match(text):
        parsed = _logfmt(text)
        if parsed is not None:
            if parsed[0] is None:
                return _level_token(text), parsed[1], parsed[2], None
            return parsed
    return _level_token(text), text, None, None


class LineRules:
    """A profile's ``[lines]`` settings, compiled for the readers.

    Args:
        settings: the profile's line settings.
    """

    def __init__(self, settings: LineSettings) -> None:
        self.settings = settings
        self.defaults = {"stdout": settings.stdout, "stderr": settings.stderr}
        self.patterns = settings.patterns
        self.understand = settings.understand
        self.max_lines = settings.group_lines
        self.max_bytes = settings.group_bytes
        #: What reads one line: the built-in formats alone unless the profile has patterns (one
        #: call less per line, which is most of what plain text costs).
        self.parse: Callable[[str], Parsed] = self._patterns_first if self.patterns else parse_line

    def _patterns_first(self, text: str) -> Parsed:
        """The profile's patterns, then the built-in formats."""
        for rule in self.patterns:
            m = rule.match.search(text)
            if m is not None:
                level = rule.level
                if level is None:
                    level = WORDS.get((m.group("level") or "").strip().lower())
                if level is not None:
                    return level, text, None, None
        return parse_line(text)


class LineReader:
    """Turns one stream's lines into rows, grouping multi-line records.

    Args:
        name: the stream's name (``stdout``, ``stderr``), the rows' logger.
        rules: the rules in force; :attr:`rules` may be replaced between lines (a profile
            switch), and the next line follows the new rules.
        default: the stream's level when the rules do not name one for it.
        clock: the records' time.
    """

    def __init__(
        self,
        name: str,
        rules: LineRules,
        *,
        default: int = _INFO,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.rules = rules
        self._default = default
        self._clock = clock
        self._group: Group | None = None

    @property
    def pending(self) -> bool:
        """Whether a multi-line record is waiting for more lines."""
        return self._group is not None

    def feed(self, text: str, emit: Callable[[Row], None]) -> None:
        """Take one line; hand the rows it completes (none, one or two) to ``emit``, in order.

        A callback rather than a returned list: this runs for every captured line.
        """
        rules = self.rules
        now = self._clock()
        if not rules.understand:
            plain = rules.defaults.get(self.name, self._default)
            emit(make_row(now, plain, "workload", self.name, text))
            return
        if "\x1b" in text:
            text = _ANSI.sub("", text)
        group = self._group
        if group is not None:
            if group.accepts(text):
                group.add(text, rules.max_lines, rules.max_bytes)
                if group.closed:
                    self._group = None
                    emit(group.row(self.name))
                return
            self._group = None
            emit(group.row(self.name))
        first = text[:1]
        # Every group starts with a letter or a box corner: JSON, timestamps, syslog prefixes
        # and indented lines skip the search for an exception's name.
        if first in GROUP_FIRST or (
            first.isalpha() and ("Error" in text or "Exception" in text or "Throwable" in text)
        ):
            kind = group_start(text)
            if kind is not None:
                self._group = Group(kind, text, now)
                return
        level, message, fields, exc = rules.parse(text)
        if level is None:
            level = rules.defaults.get(self.name, self._default)
        # The row built in place rather than through make_row(): this runs for every line.
        emit(_new_row(Row, (now, level, "workload", self.name, message, None, exc, fields)))

    def plain(self, text: str, emit: Callable[[Row], None]) -> None:
        """Hand a pending group's lines and ``text`` over as records at the stream's level,
        understood no further (what :func:`pump` does with a line :meth:`feed` cannot take)."""
        group, self._group = self._group, None
        level = self.rules.defaults.get(self.name, self._default)
        if group is not None:
            emit(make_row(group.time, level, "workload", self.name, "\n".join(group.lines)))
        emit(make_row(self._clock(), level, "workload", self.name, text))

    def flush(self, emit: Callable[[Row], None]) -> None:
        """Complete a pending group (the stream ended or went quiet) and hand it to ``emit``."""
        group, self._group = self._group, None
        if group is not None:
            emit(group.row(self.name))


def _split(fd: int, idle: float, pending: Callable[[], bool]) -> Iterator[bytes | None]:
    """Lines from ``fd`` (without their newline); None when it stayed quiet for ``idle``
    seconds while ``pending()`` said a group was waiting."""
    buf = b""
    # poll, not select: a descriptor number above FD_SETSIZE is fine.
    quiet = select.poll()
    quiet.register(fd, select.POLLIN)
    wait_ms = max(1, int(idle * 1000))
    while True:
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            yield buf[start:nl]
            start = nl + 1
        buf = buf[start:]
        while len(buf) >= MAX_LINE:
            yield buf[:MAX_LINE]
            buf = buf[MAX_LINE:]
        if pending() and not buf and not quiet.poll(wait_ms):
            yield None
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            if buf:
                yield buf
            return
        buf += chunk


def _both(first: Callable[[Row], None], then: Callable[[Row], None]) -> Callable[[Row], None]:
    def emit(row: Row) -> None:
        first(row)
        then(row)

    return emit


def pump(
    stream: IO[bytes],
    reader: LineReader,
    submit: Callable[[Row], None],
    echo: Callable[[Row], None] | None = None,
    *,
    idle: float = IDLE,
) -> None:
    """Read ``stream`` to its end, handing each completed row to ``submit``.

    Args:
        stream: the workload's stdout or stderr pipe.
        reader: the stream's line reader.
        submit: takes each row, in the stream's own order.
        echo: also given each row once submitted (development's plain copy), or None.
        idle: seconds of quiet after which a pending group is complete.
    """
    emit = submit if echo is None else _both(submit, echo)
    feed = reader.feed
    for raw in _split(stream.fileno(), idle, lambda: reader.pending):
        if raw is None:
            reader.flush(emit)
            continue
        # a CRLF line end: the line is what comes before it
        text = (raw[:-1] if raw[-1:] == b"\r" else raw).decode("utf-8", "replace")
        try:
            feed(text, emit)
        except Exception:
            # Whatever the reader cannot take is sealed as printed: a stopped pump would leave
            # the workload blocked on a full pipe, and the line would be lost.
            reader.plain(text, emit)
    reader.flush(emit)
