"""Decoding batches: every batch reads as ``json.loads`` reads it, whichever decoder runs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sealog.errors import FormatError
from sealog.seal._records import RecordDecoder


def _framed(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


def _decode(body: bytes) -> list[Any]:
    return list(RecordDecoder().batches(_framed(body)))


@pytest.mark.parametrize(
    "body",
    [
        b"[NaN,Infinity,-Infinity]",
        b"[1e400,-1e400]",
        b'["\\ud800","\\udfff x"]',
        b'["\xed\xa0\x80"]',  # a surrogate written as UTF-8 bytes
        b"\xef\xbb\xbf[1]",  # a byte-order mark
        "[1,2]".encode("utf-16"),
        b"[18446744073709551616,-9223372036854775809,123456789012345678901234567890]",
        b"[1.000000000000000111022302462515654042363166809082031250001,5e-324,-0.0]",
        b'[{"a":1,"a":2,"b":[{"c":null}]}]',
    ],
)
def test_batches_msgspec_declines_or_might_misread_decode_as_json_loads_does(body: bytes) -> None:
    """NaN, overflowing floats, lone surrogates, a BOM, UTF-16, integers beyond 64 bits, long
    mantissas, duplicate keys: the values (and their types) are json.loads's."""
    (rows,) = _decode(body)
    assert repr(rows) == repr(json.loads(body))


@pytest.mark.parametrize(
    "body", [b"[1,]", b'["a\x01b"]', b"[01]", b"[1]\x00", b'["\xff"]', b"[" * 100_000]
)
def test_malformed_batches_are_refused_as_before(body: bytes) -> None:
    """What json.loads refuses is refused, with the same error."""
    with pytest.raises(FormatError, match="record batch is not valid JSON"):
        _decode(body)


def test_a_batch_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(FormatError, match="record batch is not a list"):
        _decode(b'{"rows":[]}')


@given(st.binary(max_size=40) | st.text(max_size=40).map(lambda t: t.encode("utf-8", "replace")))
def test_any_batch_bytes_read_as_json_loads_reads_them(body: bytes) -> None:
    try:
        expected: Any = repr(json.loads(body))
    except (ValueError, RecursionError):
        with pytest.raises(FormatError):
            _decode(body)
        return
    if not expected.startswith("["):
        return
    (rows,) = _decode(body)
    assert repr(rows) == expected
