"""Capture keeps every attribute a record carries beyond the standard ones, however it got it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from sealog.keep._shape import row_from_record


class _Early(logging.LogRecord):
    """A record class that sets an attribute before the standard ones are set."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.tenant = "early"
        super().__init__(*args, **kwargs)
        self.region = "late"


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("capture-test")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    yield log
    log.filters.clear()
    logging.setLogRecordFactory(logging.LogRecord)


def make(log: logging.Logger, **extra: Any) -> logging.LogRecord:
    return log.makeRecord(log.name, logging.INFO, "f.py", 1, "m %s", ("a",), None, extra=extra)


def test_extra_fields_are_captured_in_order(logger: logging.Logger) -> None:
    row = row_from_record(make(logger, request_id="r1", user="u", n=3))
    assert row.fields == {"request_id": "r1", "user": "u", "n": 3}
    assert list(row.fields) == ["request_id", "user", "n"]
    assert row_from_record(make(logger)).fields is None


def test_attributes_set_by_a_formatter_are_not_fields(logger: logging.Logger) -> None:
    record = make(logger, user="u")
    logging.Formatter("%(asctime)s %(message)s").format(record)  # sets message and asctime
    assert row_from_record(record).fields == {"user": "u"}


def test_an_attribute_set_before_the_standard_ones_is_a_field(logger: logging.Logger) -> None:
    logging.setLogRecordFactory(_Early)
    record = logging.getLogRecordFactory()("n", logging.INFO, "f.py", 1, "m", None, None)
    assert row_from_record(record).fields == {"tenant": "early", "region": "late"}
    # ... also when a filter removed a standard attribute and added one of its own
    del record.funcName
    record.shard = 7
    assert row_from_record(record).fields == {"tenant": "early", "region": "late", "shard": 7}


def test_a_standard_attribute_set_again_is_not_a_field(logger: logging.Logger) -> None:
    record = make(logger, user="u")
    del record.msecs
    record.msecs = 5.0  # now after the extras in the record's order
    record.trace_id = "t"
    assert row_from_record(record).fields == {"user": "u", "trace_id": "t"}
