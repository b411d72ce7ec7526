"""Records and their encoding inside sealed frames.

Inside a session, the data of consecutive frames forms one byte stream of *batches*:

    batch = len u32 || UTF-8 JSON array of rows
    row   = [time, level, source, logger, message, template, exception, fields]   (see _row.py)

A batch may span frames (padded frames have a fixed capacity). Rows are JSON arrays rather than
objects because the encoder runs once per batch in the Keep, and positional rows are about a
third smaller and faster to encode and parse than keyed objects.

In padded sessions the byte stream is compressed (zstd) and rows may be compacted (message
rebuilt from its template): see ``_compress.py``. :class:`RecordDecoder` reads both.
"""

from __future__ import annotations

import json
import logging
import math
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sealog.errors import FormatError
from sealog.seal._compress import ZSTD_MAGIC, StreamDecompressor, expand_row
from sealog.seal._row import Row, make_row

__all__ = [
    "ExceptionInfo",
    "Record",
    "RecordDecoder",
    "encode_batch",
    "level_name",
    "plain_row",
]

_LEN = struct.Struct(">I")
#: Batches of at least this many rows go through the fast encoder (``_fast_json.py``); smaller
#: ones cost little either way.
_FAST_ROWS = 16


def level_name(level: int) -> str:
    """The stdlib name of a level (``Level 15`` for custom numbers)."""
    return logging.getLevelName(level)


@dataclass(frozen=True)
class ExceptionInfo:
    """An exception as it left the Keep (shaped by the destination's traceback mode).

    Attributes:
        type: the exception's qualified type name.
        message: its message (None when the mode drops it).
        frames: ``(file, line, function, source line or None)`` from outermost to innermost.
        locals: per frame, rendered local variables (development only), else empty.
    """

    type: str
    message: str | None
    frames: tuple[tuple[str, int, str, str | None], ...] = ()
    locals: tuple[Mapping[str, str], ...] = ()

    def to_row(self) -> dict[str, Any]:
        """The JSON form inside a row."""
        row: dict[str, Any] = {"type": self.type, "message": self.message}
        row["frames"] = [list(f) for f in self.frames]
        if self.locals:
            row["locals"] = [dict(x) for x in self.locals]
        return row

    @classmethod
    def from_row(cls, obj: Any) -> ExceptionInfo:
        """Parse the JSON form.

        Raises:
            FormatError: not an exception's JSON form (any slot of the wrong shape or type).
        """
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
            raise FormatError("record: malformed exception")
        try:
            frames = tuple(
                (str(f[0]), _int(f[1]), str(f[2]), None if f[3] is None else str(f[3]))
                for f in obj.get("frames", [])
            )
            locals_ = tuple(
                {str(k): str(v) for k, v in x.items()} for x in obj.get("locals", [])
            )
        except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
            raise FormatError("record: malformed exception frames") from exc
        message = obj.get("message")
        return cls(obj["type"], None if message is None else str(message), frames, locals_)

    def render(self) -> str:
        """A Python-style traceback text."""
        lines = []
        if self.frames:
            lines.append("Traceback (most recent call last):")
            for file, line, func, src in self.frames:
                lines.append(f'  File "{file}", line {line}, in {func}')
                if src:
                    lines.append(f"    {src}")
        lines.append(self.type if self.message is None else f"{self.type}: {self.message}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Record:
    """One log record as the owner reads it.

    Attributes:
        time: seconds since the epoch, from the Keep's clock.
        level: the stdlib level number.
        source: ``workload``, ``runtime`` or ``sealog``.
        logger: the logger's name (``stdout``/``stderr`` for captured output).
        message: the rendered message, after the profile's redaction.
        template: the message template before arguments were applied, when there was one.
        exception: the exception, shaped by the profile's traceback mode.
        fields: extra structured fields.
        seq: the sequence number of the frame that completed this record (set by readers).
    """

    time: float
    level: int
    source: str
    logger: str
    message: str
    template: str | None = None
    exception: ExceptionInfo | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    seq: int = -1

    @property
    def level_name(self) -> str:
        """The level's name."""
        return level_name(self.level)

    def to_row(self) -> Row:
        """The positional form used inside batches."""
        exc = self.exception.to_row() if self.exception else None
        return make_row(
            self.time,
            self.level,
            self.source,
            self.logger,
            self.message,
            self.template,
            exc,
            dict(self.fields) or None,
        )

    def to_json(self) -> dict[str, Any]:
        """A keyed JSON object, as ``sealog read --json`` prints it."""
        return {
            "time": self.time,
            "level": self.level_name,
            "source": self.source,
            "logger": self.logger,
            "message": self.message,
            "template": self.template,
            "exception": self.exception.to_row() if self.exception else None,
            "fields": dict(self.fields),
            "seq": self.seq,
        }

    @classmethod
    def from_row(cls, row: Any, seq: int = -1) -> Record:
        """Parse a row (raises FormatError)."""
        # Tuples of types, not ``X | Y``: isinstance with a union costs twice as much, and this
        # runs once per record the owner reads.
        if not isinstance(row, (list, tuple)) or len(row) != 8:
            raise FormatError("record: malformed row")
        t, level, source, logger, message, template, exc, fields = row
        if (type(t) is not float and (isinstance(t, bool) or not isinstance(t, int))) or (
            not isinstance(level, int)
        ):
            raise FormatError("record: malformed time or level")
        if not (isinstance(source, str) and isinstance(logger, str) and isinstance(message, str)):
            raise FormatError("record: malformed source, logger or message")
        if not math.isfinite(t) or not (fields is None or isinstance(fields, dict)):
            raise FormatError("record: malformed time or fields")
        # The owner reads every record through here: fill the frozen instance directly rather
        # than through the generated __init__ (one object.__setattr__ per field), which took
        # half of the decode time. The values are exactly those __init__ would store.
        record = object.__new__(cls)
        record.__dict__.update(
            time=float(t),
            level=level,
            source=source,
            logger=logger,
            message=message,
            template=None if template is None else str(template),
            exception=None if exc is None else ExceptionInfo.from_row(exc),
            fields=fields if isinstance(fields, dict) else {},
            seq=seq,
        )
        return record


def plain_row(row: Any) -> bool:
    """Whether ``row``, as a batch decodes, is a row of the plain types a Keep writes: one that
    :meth:`Record.from_row` takes as it is (not compact, no exception) and that is not sealog's
    own (whose records may change a reader's profile timeline). Readers turn such rows into
    their output directly; every other row goes through :meth:`Record.from_row`.
    """
    if type(row) is not list or len(row) != 8:
        return False
    t, level, source, logger, message, template, exc, fields = row
    return (
        type(t) is float
        and t - t == 0.0  # only for a finite float
        and type(level) is int
        and type(source) is str
        and type(logger) is str
        and type(message) is str
        and exc is None
        and (template is None or type(template) is str)
        and (fields is None or type(fields) is dict)
        and source != "sealog"
    )


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not an integer")
    return value


def encode_batch(rows: Sequence[Row]) -> bytes:
    """Encode rows as one batch (length prefix included).

    Never raises for what a workload can log: text that is not valid Unicode (a lone surrogate
    from an undecodable file name) is written with JSON escapes, which decode back to the same
    string; a value JSON cannot hold at all (a reference cycle) is replaced by its ``repr``.
    """
    if len(rows) >= _FAST_ROWS:
        # Imported here: the workload's interpreter imports this module but never encodes a
        # batch, and a session of a few records should not pay for loading the encoder.
        from sealog.seal._fast_json import encode_plain_rows  # noqa: PLC0415

        fast = encode_plain_rows(rows)
        if fast is not None:
            return _LEN.pack(len(fast)) + fast
    try:
        body = json.dumps(rows, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    except UnicodeEncodeError:
        body = json.dumps(rows, separators=(",", ":"), ensure_ascii=True, default=str).encode()
    except (ValueError, TypeError, RecursionError):
        body = json.dumps(
            [_plain_row(r) for r in rows], separators=(",", ":"), default=str
        ).encode()
    return _LEN.pack(len(body)) + body


def _plain_row(row: Row) -> Row:
    """A row whose fields and exception are reduced to text, for values JSON cannot encode."""
    try:
        json.dumps(row, default=str)
    except (ValueError, TypeError, RecursionError):
        exc = row.exception
        fields = row.fields
        return row._replace(
            exception=None
            if exc is None
            else {"type": "?", "message": repr(exc)[:2000], "frames": []},
            fields=None if fields is None else {"unencodable": repr(fields)[:2000]},
        )
    return row


class RecordDecoder:
    """Reassembles batches from frame data and yields records."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._start = bytearray()  # a session's first bytes, until compression is known
        self._zstd: StreamDecompressor | None = None
        self._plain = False

    @property
    def pending(self) -> int:
        """Bytes of an incomplete batch still waiting for the next frame."""
        return len(self._buf) + len(self._start)

    def feed(self, data: bytes, seq: int = -1) -> Iterator[Record]:
        """Add one frame's data; yield every record completed by it.

        Raises:
            FormatError: a batch inside authenticated data is malformed.
        """
        from_row = Record.from_row
        for rows in self.batches(data):
            for row in rows:
                compact = isinstance(row, list) and len(row) == 8 and row[4] is None
                yield from_row(expand_row(row) if compact else row, seq)

    def batches(self, data: bytes) -> Iterator[list[Any]]:
        """Add one frame's data; yield the rows of every batch completed by it, as decoded.

        The rows are not checked: pass each through :meth:`Record.from_row` (after
        :func:`expand_row` for a compact one), or check them exactly as it does. A batch is
        decoded only when the previous one has been taken, so what a malformed batch
        follows is still read.

        Raises:
            FormatError: a batch is not a JSON list.
        """
        if self._zstd is not None:
            self._buf += self._zstd.feed(data)
        elif self._plain:
            self._buf += data
        else:
            self._start += data
            if len(self._start) < len(ZSTD_MAGIC):
                return
            if self._start.startswith(ZSTD_MAGIC):
                self._zstd = StreamDecompressor()
                self._buf += self._zstd.feed(bytes(self._start))
            else:
                self._plain = True
                self._buf += self._start
            self._start = bytearray()
        while len(self._buf) >= _LEN.size:
            (n,) = _LEN.unpack_from(self._buf)
            if len(self._buf) < _LEN.size + n:
                break
            body = bytes(self._buf[_LEN.size : _LEN.size + n])
            del self._buf[: _LEN.size + n]
            rows = _decode_batch(body)
            if not isinstance(rows, list):
                raise FormatError("record batch is not a list")
            yield rows


def _decode_batch(body: bytes) -> Any:
    """A batch's rows as ``json.loads`` reads them, through the fast decoder (which a
    workload's interpreter, importing this module, never loads); not JSON is a FormatError."""
    from sealog.seal._fast_json import decode_json  # noqa: PLC0415

    try:
        return decode_json(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FormatError("record batch is not valid JSON") from exc
