"""Turning log records into rows, and shaping rows for one destination.

Standard library only: the capture half runs inside workload interpreters, which may not have
sealog's dependencies. Capture runs on the caller's thread and does only what cannot wait (the
message is rendered now, because its arguments may change; the traceback is walked now, because
its frames will be gone). Shaping (redaction, traceback mode, rate limit) runs where frames are
sealed, off the caller's thread.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from sealog.keep._secret import SECRET_TEXT, Secret
from sealog.profile._model import Destination, TracebackMode
from sealog.seal._row import Row, make_row

__all__ = ["RateLimit", "Shaper", "capture_exception", "row_from_record"]

REDACTED = "[redacted]"
_STANDARD = frozenset(
    logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__.keys() | {"message", "asctime"}
)
_BASE_ATTRS = len(logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__)
_FIRST_BASE, *_, _LAST_BASE = logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__

_HIDDEN_MODULES = frozenset({"sealog.keep._trace"})

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def capture_exception(exc_info: ExcInfo, *, with_locals: bool = False) -> dict[str, Any]:
    """The full exception (type, message, frames with source lines), as a row's JSON form."""
    etype, value, tb = exc_info
    frames = []
    locals_: list[dict[str, str]] = []
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_globals.get("__name__") in _HIDDEN_MODULES:
            continue  # sealog's own wrappers are not part of the workload's story
        code = frame.f_code
        summary = traceback.FrameSummary(code.co_filename, lineno, code.co_name)
        frames.append([code.co_filename, lineno, code.co_name, summary.line or None])
        if with_locals:
            locals_.append({k: _safe_repr(v) for k, v in frame.f_locals.items()})
    qualname = etype.__qualname__
    module = etype.__module__
    name = qualname if module in ("builtins", "__main__") else f"{module}.{qualname}"
    out: dict[str, Any] = {"type": name, "message": _safe_str(value), "frames": frames}
    if with_locals:
        out["locals"] = locals_
    return out


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:  # a broken __str__ in the workload must not break logging
        return f"<unprintable {type(value).__name__}>"


def _safe_repr(value: object) -> str:
    try:
        text = repr(value)
    except Exception:  # same as above
        text = f"<unprintable {type(value).__name__}>"
    return text if len(text) <= 200 else text[:197] + "..."


def _unwrap(args: Any) -> Any:
    if isinstance(args, tuple):
        for a in args:  # most calls carry no secret: keep their tuple as it is
            if isinstance(a, Secret):
                return tuple(a.value if isinstance(a, Secret) else a for a in args)
        return args
    if isinstance(args, dict):
        return {k: (v.value if isinstance(v, Secret) else v) for k, v in args.items()}
    return args


def row_from_record(
    record: logging.LogRecord,
    source: str = "workload",
    reveal_secrets: bool = False,
    with_locals: bool = False,
) -> Row:
    """Capture a stdlib record as a row (on the caller's thread: keep it cheap).

    Args:
        record: the stdlib record.
        source: the row's source.
        reveal_secrets: render :class:`~sealog.Secret` values in clear (development only).
        with_locals: capture local variables of traceback frames (development only).
    """
    msg = record.msg
    args = record.args
    if args:
        if reveal_secrets:
            args = _unwrap(args)
        template: str | None = msg if msg.__class__ is str else str(msg)
        try:
            message = template % args  # type: ignore[operator]
        except Exception:  # a bad template must not lose the record
            message = f"{msg!s} {args!r}"
    else:
        message = msg if msg.__class__ is str else _safe_str(msg)
        template = None
    if reveal_secrets and isinstance(msg, Secret):
        message = str(msg.value)
    exc = None
    exc_info = record.exc_info
    if exc_info and exc_info[0] is not None:
        exc = capture_exception(exc_info, with_locals=with_locals)
    fields = None
    attrs = record.__dict__
    if len(attrs) > _BASE_ATTRS:
        fields = _extra_fields(attrs, reveal_secrets)
    return make_row(
        record.created, record.levelno, source, record.name, message, template, exc, fields
    )


def _extra_fields(attrs: dict[str, Any], reveal_secrets: bool) -> dict[str, Any] | None:
    """The attributes a record has beyond the standard ones (``extra=``, or set by filters)."""
    keys = list(attrs)
    # LogRecord.__init__ sets the standard attributes first, in a fixed order, and everything
    # else is added after them: when the first and the last standard one are in their places,
    # only the keys after them need a look (a tenth of a microsecond per record less).
    in_place = keys[0] == _FIRST_BASE and keys[_BASE_ATTRS - 1] == _LAST_BASE
    fields: dict[str, Any] | None = None
    # A loop, not a comprehension: records carry one or two extras, fewer than it takes for a
    # comprehension's own set-up to pay.
    for key in keys[_BASE_ATTRS:] if in_place else keys:
        if key not in _STANDARD:
            value = attrs[key]
            if reveal_secrets and isinstance(value, Secret):
                value = value.value
            if fields is None:
                fields = {key: value}
            else:
                fields[key] = value
    return fields


class RateLimit:
    """A token bucket of one second's depth, run on the records' own times.

    Rows are shaped in batches, later than they were logged, and from several threads slightly
    out of order: the bucket never refills backwards. A rate of 0 lets everything through.
    """

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._tokens = rate
        self._last: float | None = None

    def allow(self, now: float) -> bool:
        """Take a token at time ``now``; False when none is left."""
        if not self._rate:
            return True
        if self._last is not None:
            elapsed = max(0.0, now - self._last)
            self._tokens = min(self._rate, self._tokens + elapsed * self._rate)
        self._last = now if self._last is None else max(now, self._last)
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


_PAIR_REDACTED = r"\1" + REDACTED
#: How many distinct templates and field names a shaper remembers before starting afresh.
_REMEMBERED = 4096
#: Values no rule touches: passed through as they are (exact types, so a subclass with its own
#: text still goes through ``str`` and redaction).
_NUMBERS = frozenset({int, float, bool, type(None)})


def _required_literal(pattern: re.Pattern[str]) -> str | None:
    r"""A piece of text every match of ``pattern`` contains, for a cheap test before the search.

    The longest run of plain characters at the pattern's top level (``\bbearer\s+...`` gives
    ``bearer``), lowered when the pattern ignores case. None when there is no such run, or when
    the pattern cannot be read this way: then the pattern always runs.
    """
    try:
        import re._parser as parser  # type: ignore[import-not-found]  # noqa: PLC0415

        # The standard library's own pattern parser (private, hence the guard around it).
        parsed = parser.parse(pattern.pattern, pattern.flags)
        literal_op = parser.LITERAL
    except Exception:  # any surprise only costs the shortcut
        return None
    best = run = ""
    for op, arg in parsed:
        if op is literal_op:
            run += chr(arg)
            best = max(best, run, key=len)
        else:
            run = ""
    if not best:
        return None
    if pattern.flags & re.IGNORECASE:
        # Lowered text is compared only when it is ASCII, where lowering is exactly what the
        # pattern's case folding does; a literal outside ASCII gives no shortcut.
        return best.lower() if best.isascii() else None
    return best


def _pairs_pattern(names: frozenset[str]) -> re.Pattern[str] | None:
    """``name=value``, ``name: value`` and ``"name": "value"`` for the redacted field names,
    as programs print them inside free text (a logfmt tail, a JSON fragment, a message)."""
    if not names:
        return None
    words = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(
        rf"""(?i)(?<![\w-])(["']?(?:{words})["']?\s*[=:]\s*)"""
        # a value already hidden (by a pattern, or as a secret) stays as it is
        rf"""(?!{re.escape(REDACTED)}|{re.escape(SECRET_TEXT)})"""
        r"""("(?:[^"\\]|\\.)*"|'[^']*'|\[[^\]]*\]|[^\s,;&"'}\]]+)"""
    )


class Shaper:
    """Applies one destination's rules to rows: sources, rate limit, redaction, traceback mode.

    Level filtering is done before capture (that is what keeps filtered calls cheap); the
    shaper re-checks it so rows from any origin obey the destination.
    """

    def __init__(self, dest: Destination) -> None:
        self._dest = dest
        self._sources = frozenset(dest.sources)
        self._fields = frozenset(f.lower() for f in dest.redact_fields)
        # Applied one by one: each keeps its own inline flags, which cannot be joined into one.
        self._patterns = dest.redact_patterns
        self._limit = RateLimit(dest.rate_limit)
        # Each pattern with the text it cannot match without, and whether that text is lowered.
        self._checks = [
            (pattern, _required_literal(pattern), bool(pattern.flags & re.IGNORECASE))
            for pattern in dest.redact_patterns
        ]
        self._pairs = _pairs_pattern(self._fields)
        # A case-sensitive search of the lowered text skips most messages several times faster
        # than the case-insensitive pattern itself.
        self._pair_names = re.compile("|".join(re.escape(n) for n in sorted(self._fields)))
        self._min_level = dest.min_level
        self._plain_rows = not self._patterns and not self._fields
        # Every pattern's required text, lowered (for a case-sensitive pattern a weaker test,
        # never a missed match), when every pattern has one: then a row whose texts contain
        # none of them, nor "=" or ":" where field names are redacted in text, is shaped by one
        # test of its texts joined (see _row_is_clean) instead of one per text.
        literals = [literal for _, literal, _ in self._checks]
        self._probes: tuple[str, ...] | None = (
            tuple(literal.lower() for literal in literals if literal is not None)
            if None not in literals
            else None
        )
        self._unlimited = not dest.rate_limit
        # Templates and field names come from the workload's code: a handful of distinct
        # strings, each shaped once. Messages and values are not remembered (they vary, and
        # remembering them would keep plaintext around longer than the row itself).
        self._templates: dict[str, str] = {}
        self._hidden_keys: dict[Any, bool] = {}
        #: rows refused by the rate limit since the last :meth:`take_limited`.
        self.limited = 0

    @property
    def keeps_plain_rows(self) -> bool:
        """Whether a row without an exception that this destination wants comes out as it
        went in (no redaction rule, no rate limit): a caller that checked level and source
        itself may then skip :meth:`shape`."""
        return self._plain_rows and self._unlimited

    def _text(self, value: str) -> str:
        # Most text can be told apart from every pattern by a substring test, several times
        # cheaper than the search. Lowering stands for case folding only on ASCII text (outside
        # it, a long s or a dotted capital I match "s" or "i" under the patterns' folding but
        # not once lowered), so
        # other text always gets the full search.
        ascii_text = value.isascii()
        lowered = value.lower() if ascii_text else value
        for pattern, literal, folded in self._checks:
            if (
                literal is not None
                and (ascii_text or not folded)
                and literal not in (lowered if folded else value)
            ):
                continue
            value = pattern.sub(REDACTED, value)
            ascii_text = value.isascii()
            lowered = value.lower() if ascii_text else value
        if (
            self._pairs is not None
            and ("=" in value or ":" in value)
            and (not value.isascii() or self._pair_names.search(value.lower()))
        ):
            value = self._pairs.sub(_PAIR_REDACTED, value)
        return value

    def _template(self, template: str) -> str:
        shaped = self._templates.get(template)
        if shaped is None:
            if len(self._templates) >= _REMEMBERED:
                self._templates.clear()
            shaped = self._templates[template] = self._text(template)
        return shaped

    def _hidden(self, key: Any) -> bool:
        hidden = self._hidden_keys.get(key)
        if hidden is None:
            if len(self._hidden_keys) >= _REMEMBERED:
                self._hidden_keys.clear()
            hidden = self._hidden_keys[key] = str(key).lower() in self._fields
        return hidden

    def _value(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return self._text(value)
        if kind in _NUMBERS:
            return value
        if isinstance(value, dict):
            # Most fields need no change: the same dict comes back then (rows own their
            # fields, nothing else holds them), and a new one only when something changed.
            shaped = []
            changed = False
            hidden_keys = self._hidden_keys
            for k, v in value.items():
                hidden = hidden_keys.get(k)
                if hidden is None:
                    hidden = self._hidden(k)
                if hidden:
                    new: Any = REDACTED
                elif type(v) is str:
                    new = self._text(v)
                elif type(v) in _NUMBERS:
                    new = v
                else:
                    new = self._value(v)
                if new is not v:
                    changed = True
                shaped.append(new)
            if changed or type(value) is not dict:
                return dict(zip(value, shaped, strict=True))
            return value
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, list | tuple):
            return [self._value(v) for v in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return self._text(_safe_str(value))

    def shape(self, row: Row) -> Row | None:
        """The row as this destination may see it, or None when it may not see it at all.

        sealog's own records (source ``sealog``: profile changes, drop counts, the closing
        record) are never filtered, limited or redacted: the owner's proof of what happened in
        the session depends on them.
        """
        if row[2] == "sealog":
            return row
        if row[1] < self._min_level or row[2] not in self._sources:
            return None
        if not self._unlimited and not self._limit.allow(row[0]):
            self.limited += 1
            return None
        if self._plain_rows and row[6] is None:
            return row
        t, level, source, logger, message, template, exc, fields = row
        if exc is None and self._probes is not None and self._row_is_clean(message, fields):
            if template is None:
                return row
            shaped_template = self._template(template)
            if shaped_template is template:
                return row
            return make_row(t, level, source, logger, message, shaped_template, exc, fields)
        message = self._text(message)
        if template is not None:
            template = self._template(template)
        if fields:
            fields = self._value(fields)
        if exc is not None:
            exc = self._exception(exc)
        elif message is row[4] and template is row[5] and fields is row[7]:
            return row  # nothing to hide: the row as it came
        return make_row(t, level, source, logger, message, template, exc, fields)

    def _row_is_clean(self, message: str, fields: dict[str, Any] | None) -> bool:
        """Whether neither the message nor the fields (text and numbers, one level deep, under
        names that are not redacted) can hold anything to redact: then :meth:`shape` would give
        the row back as it is. Anything else (nested values, other types, text outside ASCII, a
        possible match) is left to the full path, which decides exactly."""
        texts = [message]
        if fields:
            hidden_keys = self._hidden_keys
            for key, value in fields.items():
                hidden = hidden_keys.get(key)
                if hidden is None:
                    hidden = self._hidden(key)
                kind = type(value)
                if hidden or (kind is not str and kind not in _NUMBERS):
                    return False
                if kind is str:
                    texts.append(value)
        text = "\x00".join(texts) if len(texts) > 1 else message
        if not text.isascii() or (self._pairs is not None and ("=" in text or ":" in text)):
            return False
        lowered = text.lower()
        for probe in self._probes or ():  # noqa: SIM110 - a loop costs less than all() here
            if probe in lowered:
                return False
        return True

    def _exception(self, exc: dict[str, Any]) -> dict[str, Any]:
        mode = self._dest.traceback
        if mode is TracebackMode.NONE:
            return {"type": exc.get("type"), "message": None, "frames": []}
        message = exc.get("message")
        message = None if message is None else self._text(str(message))
        frames: Iterable[list[Any]] = exc.get("frames", [])
        if mode is TracebackMode.REDACTED:
            # Locations only: source lines can carry literals, locals carry data.
            return {
                "type": exc.get("type"),
                "message": message,
                "frames": [[f[0], f[1], f[2], None] for f in frames],
            }
        out = {"type": exc.get("type"), "message": message, "frames": [list(f) for f in frames]}
        if "locals" in exc:
            out["locals"] = [
                {k: self._text(str(v)) for k, v in d.items()} for d in exc.get("locals", [])
            ]
        return out
