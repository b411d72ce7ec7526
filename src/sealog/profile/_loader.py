"""The strict profile loader: TOML in, a fully checked :class:`Profile` out, or a FormatError.

Strictness is the point. A profile is a security policy, so a typo must never weaken it: an
unknown key, a value of the wrong type, an unknown level, source or mode, a bad regular
expression or a missing required key is refused with one line that names the file, the dotted
key path, what was expected and what was found. Nothing is ignored and nothing is guessed.

The schema is documented key by key in ``docs/profiles.md``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar

from sealog._files import DOCUMENT_LIMIT, read_bytes
from sealog._strict import strict_toml
from sealog.errors import FormatError
from sealog.profile._model import (
    LEVELS,
    SOURCES,
    Destination,
    HostClear,
    LinePattern,
    LineSettings,
    Overflow,
    Profile,
    Stage,
    StreamSettings,
    TracebackMode,
)
from sealog.profile._overflow_keys import overflow_settings

__all__ = [
    "builtin_names",
    "builtin_profile",
    "builtin_text",
    "load_profile",
    "parse_profile",
    "resolve_profile",
]

#: The only profile file format this version reads.
FORMAT_VERSION = 1

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_BUILTIN_NAMES: tuple[str, ...] = tuple(stage.value for stage in Stage)

_TOP_KEYS = (
    "format",
    "name",
    "stage",
    "description",
    "reveal_secrets",
    "production_secrets",
    "trace",
    "host",
    "host_rules",
    "owner",
    "ring",
    "stream",
    "lines",
)
_DESTINATION_KEYS = (
    "min_level",
    "sources",
    "traceback",
    "redact_fields",
    "redact_patterns",
    "rate_limit",
)
_RING_KEYS = (*_DESTINATION_KEYS, "records")
_STREAM_KEYS = (
    "bucket",
    "flush_interval",
    "padding",
    "cover_traffic",
    "checkpoint_every",
    "epoch_frames",
    "max_backlog",
    "overflow",
    "step_levels",
    "step_hold",
    "pad_multiple",
)

_LINES_KEYS = ("stdout", "stderr", "understand", "group_lines", "group_bytes", "patterns")
_LINE_PATTERN_KEYS = ("match", "level")

BUCKET_MIN = 256
BUCKET_MAX = 1024 * 1024
FLUSH_INTERVAL_MAX = 3600.0

_E = TypeVar("_E", Stage, HostClear, TracebackMode, Overflow)


def _shown(value: object) -> str:
    """Render a TOML value the way the person wrote it, for "got ..." in messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, datetime | date | time):
        return f"a date/time ({value.isoformat()})"
    return type(value).__name__  # pragma: no cover - tomllib yields no other types


class _Reader:
    """Walks one parsed TOML document, raising FormatError with file and key path on any fault."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> FormatError:
        return FormatError(f"{self.source}: {path}: {message}")

    def expected(self, path: str, what: str, value: object) -> FormatError:
        return self.fail(path, f"expected {what}, got {_shown(value)}")

    def table(self, data: Mapping[str, Any], path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        for key in data:
            if key not in allowed:
                where = f"{path}.{key}" if path else key
                raise self.fail(where, f"unknown key (expected one of {', '.join(allowed)})")
        return dict(data)

    def sub_table(self, value: object, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.expected(path, "a table", value)
        return self.table(value, path, allowed)

    def string(self, value: object, path: str) -> str:
        if not isinstance(value, str):
            raise self.expected(path, "a string", value)
        return value

    def boolean(self, value: object, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.expected(path, "true or false", value)
        return value

    def integer(self, value: object, path: str, *, low: int, high: int | None = None) -> int:
        # bool is a subclass of int in Python, but `bucket = true` is a typo, not 1.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.expected(path, "an integer", value)
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise self.expected(path, f"an integer {bound}", value)
        return value

    def number(
        self,
        value: object,
        path: str,
        *,
        low: float,
        low_inclusive: bool,
        high: float | None = None,
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.expected(path, "a number", value)
        number = float(value)
        # nan compares false with everything and inf has no JSON form: neither is a policy.
        too_low = number < low if low_inclusive else number <= low
        if not math.isfinite(number) or too_low or (high is not None and number > high):
            op = ">=" if low_inclusive else ">"
            bound = f"{op} {low:g}" + (f" and <= {high:g}" if high is not None else "")
            raise self.expected(path, f"a finite number {bound}", value)
        return number

    def choice(self, value: object, path: str, enum: type[_E]) -> _E:
        options = [member.value for member in enum]
        if not isinstance(value, str) or value not in options:
            raise self.expected(path, f"one of {', '.join(options)}", value)
        return enum(value)

    def string_list(
        self, value: object, path: str, item: Callable[[str, str], str]
    ) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.expected(path, "an array of strings", value)
        out = []
        for index, element in enumerate(value):
            where = f"{path}[{index}]"
            out.append(item(self.string(element, where), where))
        return tuple(out)

    def level(self, value: object, path: str) -> int:
        if isinstance(value, str) and value.upper() in LEVELS:
            return LEVELS[value.upper()]
        raise self.expected(path, f"one of {', '.join(LEVELS)}", value)

    def sources(self, value: object, path: str) -> tuple[str, ...]:
        def known(source: str, where: str) -> str:
            if source not in SOURCES:
                raise self.expected(where, f"one of {', '.join(SOURCES)}", source)
            return source

        chosen = self.string_list(value, path, known)
        if not chosen:
            raise self.fail(path, f"expected a non-empty array of {', '.join(SOURCES)}, got []")
        for source in chosen:
            if chosen.count(source) > 1:
                raise self.fail(path, f"expected unique sources, got {source!r} twice")
        # Sources are a set; keep them in one fixed order so the digest does not see list order.
        return tuple(source for source in SOURCES if source in chosen)

    def field_name(self, name: str, path: str) -> str:
        if not name.strip():
            raise self.expected(path, "a non-empty field name", name)
        return name

    def pattern(self, value: object, path: str) -> re.Pattern[str]:
        text = self.string(value, path)
        if not text:
            # An empty pattern matches between every character: a typo, never a policy.
            raise self.expected(path, "a non-empty regular expression", text)
        try:
            return re.compile(text)
        except re.error as exc:
            raise self.fail(path, f"bad regular expression {text!r}: {exc}") from exc

    def destination(self, data: dict[str, Any], path: str) -> Destination:
        default = Destination()
        patterns: tuple[re.Pattern[str], ...] = default.redact_patterns
        if "redact_patterns" in data:
            raw = data["redact_patterns"]
            where = f"{path}.redact_patterns"
            if not isinstance(raw, list):
                raise self.expected(where, "an array of regular expressions", raw)
            patterns = tuple(self.pattern(p, f"{where}[{i}]") for i, p in enumerate(raw))
        return Destination(
            min_level=(
                self.level(data["min_level"], f"{path}.min_level")
                if "min_level" in data
                else default.min_level
            ),
            sources=(
                self.sources(data["sources"], f"{path}.sources")
                if "sources" in data
                else default.sources
            ),
            traceback=(
                self.choice(data["traceback"], f"{path}.traceback", TracebackMode)
                if "traceback" in data
                else default.traceback
            ),
            redact_fields=(
                self.string_list(data["redact_fields"], f"{path}.redact_fields", self.field_name)
                if "redact_fields" in data
                else default.redact_fields
            ),
            redact_patterns=patterns,
            rate_limit=(
                self.number(data["rate_limit"], f"{path}.rate_limit", low=0.0, low_inclusive=True)
                if "rate_limit" in data
                else default.rate_limit
            ),
        )

    def stream(self, data: dict[str, Any]) -> StreamSettings:
        default = StreamSettings()

        def get(key: str, read: Callable[[object, str], Any], fallback: Any) -> Any:
            return read(data[key], f"stream.{key}") if key in data else fallback

        bucket: int = get(
            "bucket",
            lambda v, p: self.integer(v, p, low=BUCKET_MIN, high=BUCKET_MAX),
            default.bucket,
        )
        settings = StreamSettings(
            bucket=bucket,
            flush_interval=get(
                "flush_interval",
                lambda v, p: self.number(
                    v, p, low=0.0, low_inclusive=False, high=FLUSH_INTERVAL_MAX
                ),
                default.flush_interval,
            ),
            padding=get("padding", self.boolean, default.padding),
            cover_traffic=get("cover_traffic", self.boolean, default.cover_traffic),
            checkpoint_every=get(
                "checkpoint_every", lambda v, p: self.integer(v, p, low=1), default.checkpoint_every
            ),
            epoch_frames=get(
                "epoch_frames", lambda v, p: self.integer(v, p, low=1), default.epoch_frames
            ),
            max_backlog=get(
                "max_backlog", lambda v, p: self.integer(v, p, low=bucket), default.max_backlog
            ),
            **overflow_settings(self, data, default),
        )
        if settings.cover_traffic and not settings.padding:
            # Constant-rate frames of varying size still tell the host how much was logged.
            raise self.fail(
                "stream.cover_traffic",
                "cover_traffic = true requires padding = true (unpadded cover frames leak sizes)",
            )
        return settings

    def lines(self, data: dict[str, Any]) -> LineSettings:
        default = LineSettings()
        patterns: list[LinePattern] = []
        raw = data.get("patterns", [])
        if not isinstance(raw, list):
            raise self.expected("lines.patterns", "an array of tables", raw)
        for index, item in enumerate(raw):
            where = f"lines.patterns[{index}]"
            table = self.sub_table(item, where, _LINE_PATTERN_KEYS)
            if "match" not in table:
                raise self.fail(f"{where}.match", "required key is missing")
            match = self.pattern(table["match"], f"{where}.match")
            level = self.level(table["level"], f"{where}.level") if "level" in table else None
            if level is None and "level" not in match.groupindex:
                raise self.fail(
                    where,
                    "expected a level, or a (?P<level>...) group in match, got neither",
                )
            patterns.append(LinePattern(match, level))
        return LineSettings(
            stdout=(
                self.level(data["stdout"], "lines.stdout") if "stdout" in data else default.stdout
            ),
            stderr=(
                self.level(data["stderr"], "lines.stderr") if "stderr" in data else default.stderr
            ),
            understand=self.boolean(data.get("understand", True), "lines.understand"),
            group_lines=(
                self.integer(data["group_lines"], "lines.group_lines", low=1, high=10_000)
                if "group_lines" in data
                else default.group_lines
            ),
            group_bytes=(
                self.integer(data["group_bytes"], "lines.group_bytes", low=256, high=BUCKET_MAX)
                if "group_bytes" in data
                else default.group_bytes
            ),
            patterns=tuple(patterns),
        )

    def profile(self, doc: dict[str, Any]) -> Profile:
        data = self.table(doc, "", _TOP_KEYS)
        for key in ("format", "name", "stage"):
            if key not in data:
                raise self.fail(key, "required key is missing")
        fmt = data["format"]
        if type(fmt) is not int or fmt != FORMAT_VERSION:
            raise self.expected("format", str(FORMAT_VERSION), fmt)
        name = self.string(data["name"], "name")
        if not _NAME_RE.fullmatch(name):
            raise self.expected(
                "name", "1 to 64 of a-z, 0-9, _ and -, starting with a letter or digit", name
            )
        stage = self.choice(data["stage"], "stage", Stage)
        description = self.string(data.get("description", ""), "description")
        reveal = self.boolean(data.get("reveal_secrets", False), "reveal_secrets")
        production_secrets = self.boolean(
            data.get("production_secrets", False), "production_secrets"
        )
        trace = self.boolean(data.get("trace", False), "trace")
        host = self.choice(data["host"], "host", HostClear) if "host" in data else HostClear.EVENTS

        not_development = stage is not Stage.DEVELOPMENT
        if reveal and not_development:
            raise self.fail(
                "reveal_secrets",
                f'true is only allowed with stage = "development", got stage = {stage.value!r}',
            )
        if host is HostClear.RECORDS and not_development:
            raise self.fail(
                "host",
                f'"records" is only allowed with stage = "development", '
                f"got stage = {stage.value!r}",
            )
        if production_secrets and stage in (Stage.DEVELOPMENT, Stage.TESTING):
            # DESIGN section 3: development and testing are never eligible for production secrets.
            raise self.fail(
                "production_secrets",
                f"true is not allowed with stage = {stage.value!r} (never eligible)",
            )

        host_rules = Destination()
        if "host_rules" in data:
            table = self.sub_table(data["host_rules"], "host_rules", _DESTINATION_KEYS)
            host_rules = self.destination(table, "host_rules")
        owner = Destination()
        if "owner" in data:
            owner = self.destination(
                self.sub_table(data["owner"], "owner", _DESTINATION_KEYS), "owner"
            )
        ring: Destination | None = None
        ring_records = 0
        if "ring" in data:
            table = self.sub_table(data["ring"], "ring", _RING_KEYS)
            if "records" not in table:
                raise self.fail("ring.records", "required key is missing (the ring's size)")
            ring_records = self.integer(table.pop("records"), "ring.records", low=1)
            ring = self.destination(table, "ring")
        stream = StreamSettings()
        if "stream" in data:
            stream = self.stream(self.sub_table(data["stream"], "stream", _STREAM_KEYS))
        lines = LineSettings()
        if "lines" in data:
            lines = self.lines(self.sub_table(data["lines"], "lines", _LINES_KEYS))

        return Profile(
            name=name,
            stage=stage,
            description=description,
            reveal_secrets=reveal,
            production_secrets=production_secrets,
            trace=trace,
            host=host,
            host_rules=host_rules,
            owner=owner,
            ring=ring,
            ring_records=ring_records,
            stream=stream,
            lines=lines,
        )


def parse_profile(text: str, *, source: str) -> Profile:
    """Parse and check a profile from TOML text.

    Args:
        text: the TOML document.
        source: what to call it in error messages (usually the file name).

    Returns:
        The fully checked, frozen profile.

    Raises:
        sealog.FormatError: a TOML syntax error, an unknown key, a wrong type, an unknown value,
            a bad regular expression, a missing required key, or a combination the schema
            forbids. The message is one line naming ``source`` and the dotted key path.
    """
    return _Reader(source).profile(strict_toml(text, source))


def load_profile(path: Path) -> Profile:
    """Read and check a profile from a TOML file.

    Args:
        path: the file; it is named in every error message.

    Returns:
        The fully checked, frozen profile.

    Raises:
        sealog.FormatError: the file cannot be read, is not UTF-8, or is not a valid profile.
    """
    raw = read_bytes(path, "a profile file", limit=DOCUMENT_LIMIT)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: invalid TOML: not UTF-8 ({exc.reason})") from exc
    return parse_profile(text, source=str(path))


_BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


def builtin_names() -> tuple[str, ...]:
    """The names of the built-in profiles, in the order of DESIGN.md's table (the deployment's
    stages, then ``incident``); :data:`~sealog.profile.LADDER` orders them by strictness.

    Returns:
        ``("development", "testing", "staging", "production", "incident")``.
    """
    return _BUILTIN_NAMES


def _check_builtin(name: str) -> None:
    if name not in _BUILTIN_NAMES:
        raise FormatError(
            f"unknown built-in profile {name!r}: expected one of {', '.join(_BUILTIN_NAMES)}"
        )


def builtin_text(name: str) -> str:
    """The TOML text of a built-in profile, comments included, as ``profiles init`` writes it.

    Args:
        name: one of :func:`builtin_names`.

    Returns:
        The file's text.

    Raises:
        sealog.FormatError: ``name`` is not a built-in profile.
    """
    _check_builtin(name)
    # Beside this module: the package is installed as files (a wheel, or a source tree), and
    # importlib.resources would cost every workload interpreter several milliseconds to import.
    return (_BUILTIN_DIR / f"{name}.toml").read_text(encoding="utf-8")


@functools.cache
def builtin_profile(name: str) -> Profile:
    """A built-in profile, parsed by the same strict loader as any file.

    Args:
        name: one of :func:`builtin_names`.

    Returns:
        The profile (shared between callers; profiles are frozen).

    Raises:
        sealog.FormatError: ``name`` is not a built-in profile.
    """
    return parse_profile(builtin_text(name), source=f"builtin {name}.toml")


def resolve_profile(name_or_path: str) -> Profile:
    """A built-in profile by name, or a profile file by path.

    A built-in name wins over a file of the same name in the working directory; write
    ``./production`` to mean the file.

    Args:
        name_or_path: a built-in name (see :func:`builtin_names`) or a path to a TOML file.

    Returns:
        The fully checked profile.

    Raises:
        sealog.FormatError: neither a built-in name nor an existing file, or a bad profile.
    """
    if name_or_path in _BUILTIN_NAMES:
        return builtin_profile(name_or_path)
    path = Path(name_or_path)
    if not path.exists():
        raise FormatError(
            f"{name_or_path}: not a built-in profile ({', '.join(_BUILTIN_NAMES)}) and no such file"
        )
    return load_profile(path)
