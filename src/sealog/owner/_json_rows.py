"""``sealog read --json`` straight from a batch's decoded rows, without a :class:`Record` each.

Reading a store as JSON lines is decoding every row and encoding it again; making a frozen
:class:`Record` (and a :class:`RecordView`) in between was a third of the time. Here a row
whose every slot has the plain type a Keep writes (a finite float time, an int level, text,
no exception, fields as an object) goes from its decoded values to its line; any other row
(a compact one, an exception, an int time, anything malformed, and every record of the
``sealog`` source, whose profile changes the timeline follows) takes the record path: the same
:meth:`Record.from_row` (so a malformed row is refused with the same error, after the lines
before it) and the same :func:`record_json_line`. Both make the same bytes for a row; the
tests hold them to it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path
from typing import Any

from sealog.errors import FormatError
from sealog.owner._output import (
    RecordView,
    _c_encode,
    _encode_value,
    _level_json,
    _string,
    json_head,
    json_tail,
    record_json_line,
)
from sealog.owner._reader import SessionReader
from sealog.owner._select import Selection, profile_at, select_records, session_records
from sealog.seal._compress import expand_row
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import Record

__all__ = ["select_json_lines", "session_json_lines"]


class _SessionLines:
    """One session's ``--json`` lines, a batch at a time (``take`` for
    :meth:`SessionReader.read_with`)."""

    def __init__(self, reader: SessionReader, selection: Selection) -> None:
        self._reader = reader
        self._selection = selection
        self._head: str | None = None
        self._keep = ""
        self._launch = ""
        self._wanted = True

    def _start(self) -> None:
        # The first batch comes after the header: the Keep and launch profile are known.
        header = self._reader.header
        self._keep = header.keep_id if header is not None else ""
        self._launch = header.profile_name if header is not None else ""
        self._wanted = self._selection.wants_keep(self._keep)
        self._head = json_head(self._reader.session, self._keep)

    def joined(self, rows: list[Any], seq: int) -> Iterator[str]:
        """The lines of one batch, joined (``take`` for :meth:`SessionReader.read_with`)."""
        for lines, _times in self._batch(rows, seq):
            yield "".join(lines)

    def timed(self, rows: list[Any], seq: int) -> Iterator[tuple[float, str]]:
        """The lines of one batch with each record's time, for merging sessions by time."""
        for lines, times in self._batch(rows, seq):
            yield from zip(times, lines, strict=True)

    def _batch(self, rows: list[Any], seq: int) -> Iterator[tuple[list[str], list[float]]]:
        """The lines of one batch and their records' times, as one item: the lines before a
        malformed row, then its FormatError."""
        if self._head is None:
            self._start()
        reader = self._reader
        timeline = reader.timeline
        lines: list[str] = []
        append = lines.append
        times: list[float] = []
        add_time = times.append
        seq_text = f',"seq":{seq}'
        n = 0
        latest = float("-inf")
        try:
            if not self._wanted:
                # Nothing is printed for this Keep, but every row is checked as read() does.
                for row in rows:
                    self._record(row, seq)
                    n += 1
                return
            head = self._head
            spans = timeline.spans if timeline is not None else []
            single = len(spans) <= 1
            seq_tail = seq_text + json_tail(timeline.current if timeline is not None else "")
            string, level_json, c_encode = _string, _level_json, _c_encode
            for row in rows:
                if type(row) is list and len(row) == 8:
                    t, level, source, logger, message, template, exc, fields = row
                    # The types json.loads gives for what a Keep writes; t - t is 0.0 only for
                    # a finite float. Everything else takes the record path below.
                    if (
                        type(t) is float
                        and t - t == 0.0
                        and type(level) is int
                        and type(source) is str
                        and type(logger) is str
                        and type(message) is str
                        and exc is None
                        and (template is None or type(template) is str)
                        and (fields is None or type(fields) is dict)
                        and source != "sealog"
                    ):
                        if t > latest:  # noqa: PLR1730 - cheaper than a call, per row
                            latest = t
                        if not fields:
                            fields_text = "{}"
                        elif c_encode is None:  # pragma: no cover - no C accelerator
                            fields_text = _encode_value(fields)
                        else:
                            try:
                                fields_text = "".join(c_encode(fields, 0))
                            except RecursionError:  # as _encode_value does
                                fields_text = _encode_value(fields)
                        tail = seq_tail if single else seq_text + json_tail(profile_at(timeline, t))
                        append(
                            f'{head}{t!r},"level":{level_json(level)},"source":{string(source)},'
                            f'"logger":{string(logger)},"message":{string(message)},'
                            f'"template":{"null" if template is None else string(template)},'
                            f'"exception":null,"fields":{fields_text}{tail}'
                        )
                        add_time(t)
                        n += 1
                        continue
                record = self._record(row, seq)
                add_time(record.time)
                n += 1
                profile = profile_at(timeline, record.time)
                view = RecordView(reader.session, self._keep, profile, record, self._launch)
                append(record_json_line(view))
                # A record of the sealog source may have changed the profile.
                single = len(spans) <= 1
                seq_tail = seq_text + json_tail(timeline.current if timeline is not None else "")
        except FormatError:
            if lines:
                yield lines, times
            raise
        finally:
            reader.records += n
            if timeline is not None and latest > float("-inf"):
                timeline.observe_time(latest)
        if lines:
            yield lines, times

    def _record(self, row: Any, seq: int) -> Record:
        """A row through the record path: checked, and observed by the timeline."""
        compact = isinstance(row, list) and len(row) == 8 and row[4] is None
        record = Record.from_row(expand_row(row) if compact else row, seq)
        timeline = self._reader.timeline
        if timeline is not None:
            timeline.observe(record)
        return record


def session_json_lines(reader: SessionReader, selection: Selection) -> Iterator[str]:
    """The ``--json`` lines of the records ``reader`` can read now, a batch's at a time.

    The same lines, in the same order, as :func:`record_json_line` of every view that
    :func:`session_records` yields; each string holds one or more whole lines.
    """
    if selection.matcher() is not None:
        return map(record_json_line, session_records(reader, selection))
    return reader.read_with(_SessionLines(reader, selection).joined)


def select_json_lines(
    store: Path | str,
    key: OwnerPrivateKey,
    selection: Selection | None = None,
    *,
    session: str | None = None,
    merge: bool = True,
) -> tuple[list[SessionReader], Iterator[str]]:
    """The ``--json`` lines of :func:`select_records`'s records: the same bytes, each string
    one or more whole lines.

    Raises:
        FormatError: the store is missing, empty, or holds foreign files.
    """
    sel = selection or Selection()
    chosen, views = select_records(store, key, sel, session=session, merge=merge)
    # Unless a selection needs the records, the views' generators (not started) are dropped.
    if len(chosen) == 1 or not merge:
        return chosen, itertools.chain.from_iterable(session_json_lines(r, sel) for r in chosen)
    if sel.matcher() is not None:
        return chosen, map(record_json_line, views)
    # Merged by time as select_records merges them (ties keep the sessions' order).
    timed = [r.read_with(_SessionLines(r, sel).timed) for r in chosen]
    lines = map(itemgetter(1), heapq.merge(*timed, key=itemgetter(0)))
    return chosen, map("".join, iter(lambda: list(itertools.islice(lines, 256)), []))
