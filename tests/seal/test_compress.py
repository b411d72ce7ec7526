"""Compression before padding: what is stored once, what the owner reads back, what is refused.

DESIGN.md section 4: batches are compressed (zstd) before padding, and a templated message is
not stored twice. The owner must read back exactly the text that was sealed.
"""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sealog.errors import FormatError
from sealog.seal._compress import BatchCompressor, compact_row, expand_row
from sealog.seal._records import RecordDecoder, encode_batch
from sealog.seal._row import Row, make_row


def row(message: str, template: str | None) -> Row:
    return make_row(1.5, 30, "workload", "app", message, template)


@pytest.mark.parametrize(
    ("message", "template"),
    [
        ("retry 2 of db", "retry %d of %s"),
        ("100% of 3 done", "100%% of %d done"),
        ("'quoted' and plain", "%r and %s"),
        ("a b", "%s %s"),
        ("", "%s"),
    ],
)
def test_templated_message_is_stored_once_and_rebuilt_exactly(message: str, template: str) -> None:
    compact = compact_row(row(message, template))
    assert compact[4] is None  # the message is not stored
    assert compact[5][0] == template
    assert expand_row(list(compact)) == row(message, template)


@pytest.mark.parametrize(
    ("message", "template"),
    [
        ("took 99.5 ms", "took %.1f ms"),  # the argument would carry more than the message shows
        ("user [redacted]", "user %(name)s"),
        ("token [redacted] for bob", "token %s for %s ok"),  # redaction changed the message
        ("no holes", "no holes"),
    ],
)
def test_message_that_cannot_be_rebuilt_safely_is_stored_as_it_is(
    message: str, template: str
) -> None:
    assert compact_row(row(message, template)) == row(message, template)


@given(parts=st.lists(st.text(max_size=8), min_size=1, max_size=5))
def test_any_message_from_plain_holes_round_trips(parts: list[str]) -> None:
    template = " | ".join("%s" for _ in parts)
    message = template % tuple(parts)
    assert expand_row(list(compact_row(row(message, template)))) == row(message, template)


def test_compressed_stream_split_across_frames_reads_back_in_order() -> None:
    compressor = BatchCompressor()
    rows = [row(f"record {i} of the stream", "record %d of the stream") for i in range(500)]
    data = b"".join(
        compressor.compress(encode_batch([compact_row(r) for r in rows[i : i + 100]]))
        for i in range(0, 500, 100)
    )
    data += compressor.finish()
    assert len(data) < len(encode_batch(rows)) // 5
    decoder = RecordDecoder()
    got = []
    for i in range(0, len(data), 97):  # frames cut anywhere
        got += [r.message for r in decoder.feed(data[i : i + 97])]
    assert got == [r[4] for r in rows]
    assert decoder.pending == 0


def test_compact_row_that_does_not_fit_its_template_is_refused() -> None:
    body = json.dumps([[1.0, 30, "workload", "app", None, ["%s and %s", "only one"], None, None]])
    batch = struct.pack(">I", len(body)) + body.encode()
    with pytest.raises(FormatError, match="does not fit its template"):
        list(RecordDecoder().feed(batch))


def test_corrupt_compressed_stream_is_refused_not_crashed() -> None:
    data = BatchCompressor().compress(encode_batch([row("x", None)]))
    with pytest.raises(FormatError, match="compressed record stream is malformed"):
        list(RecordDecoder().feed(data[:4] + b"\xff" * 40))
