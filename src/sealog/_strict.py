"""One canonical encoder and one strict reader for everything sealog signs, hashes or verifies.

Profiles, control policies, change orders, tree heads and session headers all go through here:

* :func:`canonical_json` is the one encoding that sealog hashes and signs: sorted keys, no white
  space, UTF-8, and no value JSON cannot carry exactly (NaN and infinities are refused, not
  written as the non-standard ``NaN``);
* :func:`strict_json` parses JSON that sealog will verify: duplicate keys (two readers could see
  two different documents), NaN and infinities, and nesting deeper than any sealog document are
  refused with one :class:`~sealog.errors.FormatError`;
* :class:`FieldReader` gives typed access to a parsed document with errors that name the source
  and the dotted key, and refuses unknown keys (a typo in a security policy must not weaken it).

Standard library only.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from sealog.errors import FormatError

__all__ = ["MAX_DEPTH", "FieldReader", "canonical_json", "strict_json", "strict_toml", "type_name"]

#: No document sealog reads nests deeper than this; deeper input is refused before parsing.
MAX_DEPTH = 32


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no white space, UTF-8: equal values give equal bytes.

    Raises:
        FormatError: the value holds NaN, an infinity, or text that is not valid Unicode.
    """
    try:
        text = json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        return text.encode("utf-8")
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise FormatError(f"value has no canonical JSON form ({exc})") from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _depth(text: str) -> int:
    """The deepest bracket nesting outside strings (a cheap scan before the real parse)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def strict_json(text: str | bytes, source: str) -> Any:
    """Parse JSON that sealog will verify or act on.

    Raises:
        FormatError: not UTF-8 JSON, a duplicate key, NaN or an infinity, or nested deeper than
            :data:`MAX_DEPTH`; the message names ``source``.
    """
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        if _depth(text) > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        return json.loads(
            text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant
        )
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise FormatError(f"{source}: not valid JSON ({exc})") from exc


def strict_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML that configures sealog (profiles, control policies).

    Raises:
        FormatError: not valid TOML, or nested past the parser's limit; names ``source``.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FormatError(f"{source}: invalid TOML: {exc}") from exc
    except RecursionError as exc:
        raise FormatError(f"{source}: invalid TOML: nested too deeply") from exc


def type_name(value: object) -> str:
    """How a value's type is named in error messages (TOML and JSON words, not Python's)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


class FieldReader:
    """Typed access to a parsed document, with errors naming the source and the dotted key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def keys(
        self,
        table: dict[str, Any],
        prefix: str,
        *,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
    ) -> None:
        """Refuse unknown keys and missing required ones.

        Raises:
            FormatError: naming the first unknown or missing key.
        """
        allowed = required + optional
        for key in table:
            if key not in allowed:
                raise FormatError(
                    f"{self.source}: unknown key {prefix}{key} "
                    f"(expected one of {', '.join(allowed)})"
                )
        for key in required:
            if key not in table:
                raise FormatError(f"{self.source}: missing key {prefix}{key}")

    def check(self, value: Any, where: str, kind: type, expected: str) -> Any:
        """``value`` if it is a ``kind`` (a boolean is never an integer here).

        Raises:
            FormatError: "where: expected X, got Y".
        """
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            got = type_name(value)
            raise FormatError(f"{self.source}: {where}: expected {expected}, got {got}")
        return value

    def get(
        self, table: dict[str, Any], key: str, kind: type, expected: str, prefix: str = ""
    ) -> Any:
        """``table[key]`` checked as :meth:`check` does."""
        return self.check(table[key], prefix + key, kind, expected)

    def integer(self, table: dict[str, Any], key: str, prefix: str = "") -> int:
        """An integer (never a boolean)."""
        value: int = self.get(table, key, int, "an integer", prefix)
        return value

    def string(self, table: dict[str, Any], key: str, prefix: str = "") -> str:
        """A string."""
        value: str = self.get(table, key, str, "a string", prefix)
        return value
