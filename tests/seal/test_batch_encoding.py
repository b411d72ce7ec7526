"""Sealed batches mean what the standard library's encoder would have written, whatever a
workload logs: the fast encoder is only a faster way to write the same JSON."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.seal import Row
from sealog.seal._records import _FAST_ROWS, RecordDecoder, encode_batch
from sealog.seal._row import make_row


class Colour(enum.Enum):
    RED = "red"


class Tag(str):
    """A str subclass with its own text (what an enum-like workload type may do)."""

    def __str__(self) -> str:
        return "tag:" + super().__str__()


def stdlib_meaning(rows: list[Row]) -> Any:
    """What sealog's format has always stored: json.dumps with str() for anything else."""
    return json.loads(json.dumps(rows, default=str, ensure_ascii=True))


#: Plain rows that make every batch large enough for the fast encoder (small batches take the
#: standard one), so that each case below goes through it.
PAD = [
    make_row(1700000000.0 + i, 10, "workload", "pad", f"pad {i}", None, None, {"i": i})
    for i in range(_FAST_ROWS)
]


def stored(rows: list[Row]) -> Any:
    batch = encode_batch(rows + PAD)
    assert int.from_bytes(batch[:4], "big") == len(batch) - 4
    decoded = json.loads(batch[4:])
    assert decoded[len(rows) :] == json.loads(json.dumps(PAD))
    return decoded[: len(rows)]


def row(fields: dict[str, Any] | None = None, message: str = "m") -> Row:
    return make_row(1700000000.25, 20, "workload", "app", message, "t %s", None, fields)


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 11, 27, 11, 0, 5, 123),
        dt.date(2026, 11, 27),
        dt.timedelta(seconds=90),
        {1, 2, 3},
        frozenset({"a"}),
        b"raw\x00bytes",
        bytearray(b"x"),
        decimal.Decimal("1.10"),
        uuid.UUID(int=7),
        Colour.RED,
        Tag("x"),
        object(),
        float("inf"),
        2**80,
        {"nested": {"when": dt.date(2026, 1, 1)}},
        [1, [2, {3}]],
    ],
    ids=repr,
)
def test_a_value_json_does_not_hold_is_stored_as_it_always_was(value: object) -> None:
    rows = [row({"plain": 1}), row({"value": value}), row(None)]
    assert stored(rows) == stdlib_meaning(rows)


def test_nan_in_fields_stays_nan_not_null() -> None:
    (decoded,) = stored([row({"ratio": float("nan")})])
    assert decoded[7]["ratio"] != decoded[7]["ratio"]


def test_non_text_keys_are_stored_as_text_keys() -> None:
    rows = [row({1: "one", None: "none", 2.5: "x", False: "f"})]  # type: ignore[dict-item]
    assert stored(rows) == stdlib_meaning(rows)


def test_text_that_is_not_valid_unicode_survives() -> None:
    rows = [row({"path": "/tmp/\udcff"}, message="bad \ud800 name")]
    ((*_, message, _t, _e, fields),) = stored(rows)
    assert message == "bad \ud800 name"
    assert fields == {"path": "/tmp/\udcff"}


def test_the_owner_reads_back_exactly_what_was_logged() -> None:
    exc = {"type": "ValueError", "message": "é\u2028", "frames": [["f.py", 3, "g", "x = 1"]]}
    rows = [
        make_row(1.5, 40, "workload", "app", 'q"uote\\ \x00 ✓', "tpl", exc, {"n": [1, 2.5, None]}),
        make_row(2.0, 10, "runtime", "sealog.trace", "x", None, None, None),
    ]
    for batch in (rows, rows + PAD):  # small batches and large take different encoders
        records = list(RecordDecoder().feed(encode_batch(batch)))
        assert [r.to_row() for r in records] == batch


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(fields=st.dictionaries(st.text(), json_values, max_size=5), message=st.text())
def test_any_fields_mean_the_same_as_the_standard_encoding(
    fields: dict[str, Any], message: str
) -> None:
    rows = [row(fields or None, message)]
    got, want = stored(rows), stdlib_meaning(rows)
    # NaN is never equal to itself: compare the JSON text of both, which writes NaN alike.
    assert json.dumps(got) == json.dumps(want)
