"""Rows as compact JSON, fast, meaning exactly what the standard library's encoder would write.

Encoding batches of rows is the largest single cost of sealing after capture itself: the
standard library's ``json.dumps`` takes about 1.4 us per row of a typical mix, msgspec's encoder
about a tenth of that, and for values JSON holds natively both write the same bytes. They part
ways only on values JSON does not hold: msgspec writes a ``datetime`` as ISO 8601, a ``set`` as an
array, ``bytes`` as base64 and a NaN as ``null``, where sealog's format has always stored
``str(value)`` and ``NaN``. So msgspec only gets rows whose values are plain JSON (checked below, in
the same pass order as the row's slots); any other batch goes to the standard library as before,
and the sealed bytes mean the same either way.

The one home of msgspec in sealog. An interpreter without it (a workload's, from another
installation) gets the standard library: :func:`encode_plain_rows` declines and
:func:`decode_json` is ``json.loads``. Importing this module loads msgspec (a few milliseconds):
callers import it when they first encode or decode, not at start.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from sealog.seal._row import Row

#: What encoding a row may raise: the row then takes the standard library's way.
_ENCODE_FAILURES: tuple[type[Exception], ...] = (
    UnicodeEncodeError,
    TypeError,
    ValueError,
    OverflowError,
)
try:
    import msgspec
except ImportError:  # pragma: no cover - sealog's dependencies are not installed here
    _encode = _decode = None
else:
    _encode = msgspec.json.Encoder().encode
    _decode = msgspec.json.Decoder().decode
    _ENCODE_FAILURES += (msgspec.EncodeError,)

__all__ = ["decode_json", "encode_plain_rows"]

_SCALARS = frozenset({str, int, bool, type(None)})
_isfinite = math.isfinite


def _plain(value: Any) -> bool:
    """Whether ``value`` is plain JSON: text, integers, finite floats, lists and text-keyed
    objects of those (exact types: a subclass may encode differently)."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is float:
        return _isfinite(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            kind = type(item)
            if kind in _SCALARS or (kind is float and _isfinite(item)):
                continue
            if not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_plain(item) for item in value)
    return False


def encode_plain_rows(rows: Sequence[Row]) -> bytes | None:
    """The rows as one compact JSON array, or None when a row holds a value that is not plain
    JSON or text that is not valid Unicode (the caller then encodes them the standard way).

    The slots other than exception and fields are plain by construction: rows are built by
    capture from text and numbers, and rows from a workload are checked on arrival.
    """
    if _encode is None:  # pragma: no cover - without msgspec
        return None
    try:
        for row in rows:
            fields = row[7]
            if fields is not None and not _plain(fields):
                return None
            exception = row[6]
            if exception is not None and not _plain(exception):
                return None
            if not _isfinite(row[0]):
                return None
    except (TypeError, IndexError):  # not a row at all: the standard way says what it is
        return None
    try:
        return _encode(rows)
    except _ENCODE_FAILURES:
        return None


def decode_json(data: bytes | str) -> Any:
    """``json.loads(data)``, in less than half its time for what msgspec reads.

    What msgspec accepts it decodes to the values ``json.loads`` gives; what it declines
    (``NaN``, ``1e400``, escaped lone surrogates, a byte-order mark) goes to ``json.loads``,
    which gives the value or raises as it always did. Without msgspec, ``json.loads`` alone.

    Raises:
        ValueError: not JSON (``json.JSONDecodeError``, ``UnicodeDecodeError``).
        RecursionError: nested too deeply for ``json.loads``.
    """
    if _decode is not None:
        try:
            return _decode(data)
        except Exception:  # noqa: S110 - whatever msgspec declines, json decides below
            pass
    return json.loads(data)
