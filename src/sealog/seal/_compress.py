"""Compression of a session's batch stream, for padded sessions.

Under fixed-size frames, compressing before padding reveals nothing to the host and multiplies
what a constant-rate stream carries. The data of a padded session's frames, concatenated, is
then one zstd stream (RFC 8878) whose content is the batch stream of ``_records.py``; it is
flushed at the end of every prepared chunk, so each frame's data decodes as soon as it arrives.
A session's data stream is compressed exactly when it starts with the zstd magic number (a
batch length never does: batches are far smaller than 0x28B52FFD bytes).

Unpadded sessions are not compressed: their frame sizes are visible, and the length of a
compressed text that mixes a secret with workload-chosen text is a known oracle.

Rows are also *compacted* before compression: a message rendered from a template with plain
``%s``/``%d``/``%i``/``%r`` holes is stored as the template and the text of each hole, taken
from the rendered (and redacted) message itself, so the record's text is not stored twice and
nothing beyond the rendered message is stored. Readers rebuild the message exactly.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from sealog.errors import FormatError
from sealog.seal._row import Row, make_row

__all__ = ["ZSTD_MAGIC", "BatchCompressor", "StreamDecompressor", "compact_row", "expand_row"]

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_LEVEL = 3
_HOLE = re.compile(r"%(?:%|[sdir])|%")
_CACHE = 512


@functools.lru_cache(maxsize=_CACHE)
def _pattern(template: str) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """A regex that takes a message rendered from ``template`` apart, and its literal parts;
    None when the template has holes other than plain ``%s %d %i %r`` (widths, precisions,
    mapping keys), whose rendered text could not be matched back safely."""
    literals = []
    regex = []
    last = 0
    holes = 0
    text = []
    for m in _HOLE.finditer(template):
        spec = m.group()
        if spec == "%":
            return None
        text.append(template[last : m.start()])
        last = m.end()
        if spec == "%%":
            text.append("%")
            continue
        literals.append("".join(text))
        regex.append(re.escape(literals[-1]))
        regex.append("(.*?)")
        text = []
        holes += 1
    if not holes:
        return None
    text.append(template[last:])
    literals.append("".join(text))
    regex.append(re.escape(literals[-1]))
    return re.compile("".join(regex), re.DOTALL), tuple(literals)


def compact_row(row: Row) -> Row:
    """The row with its message replaced by the text of the template's holes, when the
    message can be rebuilt exactly from them; otherwise the row itself.

    The compact row is a wire form only: its message is None and its template a list.
    """
    message = row[4]
    template = row[5]
    if not isinstance(template, str) or not isinstance(message, str):
        return row
    parsed = _pattern(template)
    if parsed is None:
        return row
    pattern, literals = parsed
    match = pattern.fullmatch(message)
    if match is None:
        return row
    holes = match.groups()
    if _join(literals, holes) != message:  # pragma: no cover - fullmatch guarantees it
        return row
    packed: Any = [template, *holes]
    return make_row(row[0], row[1], row[2], row[3], None, packed, row[6], row[7])  # type: ignore[arg-type]


def _join(literals: tuple[str, ...], holes: tuple[str, ...] | list[str]) -> str:
    out = [literals[0]]
    for hole, literal in zip(holes, literals[1:], strict=True):
        out.append(hole)
        out.append(literal)
    return "".join(out)


def expand_row(row: list[Any]) -> Row:
    """Undo :func:`compact_row` on a decoded row (raises FormatError on a malformed one)."""
    packed = row[5]
    if row[4] is not None or not isinstance(packed, list):
        raise FormatError("record: malformed compact message")
    if not packed or not all(isinstance(x, str) for x in packed):
        raise FormatError("record: malformed compact message")
    template, holes = packed[0], packed[1:]
    parsed = _pattern(template)
    if parsed is None or len(holes) != len(parsed[1]) - 1:
        raise FormatError("record: compact message does not fit its template")
    message = _join(parsed[1], holes)
    return make_row(row[0], row[1], row[2], row[3], message, template, row[6], row[7])


# zstandard is imported where a stream is made, not here: this module is reachable from
# `import sealog`, which workload interpreters run without sealog's dependencies.


class BatchCompressor:
    """One session's zstd stream: batches go in, flushed compressed bytes come out."""

    def __init__(self) -> None:
        import zstandard  # noqa: PLC0415 - see above

        self._obj = zstandard.ZstdCompressor(level=_LEVEL).compressobj()
        self._block = zstandard.COMPRESSOBJ_FLUSH_BLOCK
        self._finish = zstandard.COMPRESSOBJ_FLUSH_FINISH

    def compress(self, batch: bytes) -> bytes:
        """Compress ``batch`` and flush, so that everything so far decodes from the output."""
        return self._obj.compress(batch) + self._obj.flush(self._block)

    def finish(self) -> bytes:
        """End the stream (at the session's close)."""
        return self._obj.flush(self._finish)


class StreamDecompressor:
    """The reader's half: frame data in, batch-stream bytes out."""

    def __init__(self) -> None:
        import zstandard  # noqa: PLC0415 - see above

        self._obj = zstandard.ZstdDecompressor().decompressobj()
        self._error = zstandard.ZstdError

    def feed(self, data: bytes) -> bytes:
        """Decompress one frame's data (raises FormatError on a malformed stream)."""
        try:
            return self._obj.decompress(data)
        except self._error as exc:
            raise FormatError("compressed record stream is malformed") from exc
