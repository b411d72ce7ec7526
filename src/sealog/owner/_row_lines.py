"""The owner's output lines straight from a batch's decoded rows, without a Record each.

Reading a store is decoding every row and printing it; making a frozen :class:`Record` (and a
:class:`RecordView`) in between was a third of the time. Here a row whose every slot has the
plain type a Keep writes (a finite float time, an int level, text, no exception, fields as an
object) goes from its decoded values to its line, ``--json`` or text; any other row (a compact
one, an exception, an int time, anything malformed, and every record of the ``sealog`` source,
whose profile changes the timeline follows) takes the record path: the same
:meth:`Record.from_row` (so a malformed row is refused with the same error, after the lines
before it) and the same :func:`record_json_line` or :meth:`TextRenderer.render`. Both make the
same bytes for a row; the tests hold them to it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from operator import itemgetter
from pathlib import Path
from typing import Any

from sealog.errors import FormatError
from sealog.owner._output import (
    RecordView,
    TextRenderer,
    _c_encode,
    _encode_value,
    _level_json,
    _string,
    json_head,
    json_tail,
    record_json_line,
)
from sealog.owner._reader import SessionReader
from sealog.owner._select import Selection, profile_at, select_records
from sealog.seal._compress import expand_row
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import Record, plain_row

__all__ = ["select_json_lines", "select_text_lines"]


class _SessionRows:
    """One session's lines, a batch at a time (``take`` for :meth:`SessionReader.read_with`).

    Args:
        reader: the session's reader.
        selection: the selection (only its Keeps: one that tests records takes the record path).
        render: a record's line on the record path.
    """

    def __init__(
        self, reader: SessionReader, selection: Selection, render: Callable[[RecordView], str]
    ) -> None:
        self._reader = reader
        self._selection = selection
        self._render = render
        self._started = False
        self._keep = ""
        self._launch = ""
        self._wanted = True

    def _start(self) -> None:
        # The first batch comes after the header: the Keep and launch profile are known.
        header = self._reader.header
        self._keep = header.keep_id if header is not None else ""
        self._launch = header.profile_name if header is not None else ""
        self._wanted = self._selection.wants_keep(self._keep)
        self._started = True

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
        if not self._started:
            self._start()
        if self._wanted:
            return self._lines(rows, seq)
        return self._unwanted(rows, seq)

    def _lines(self, rows: list[Any], seq: int) -> Iterator[tuple[list[str], list[float]]]:
        reader = self._reader
        timeline = reader.timeline
        lines: list[str] = []
        append = lines.append
        times: list[float] = []
        add_time = times.append
        line_of = self._plain_line
        n = 0
        latest = float("-inf")
        try:
            self._begin(seq)
            spans = timeline.spans if timeline is not None else []
            single = len(spans) <= 1
            current = timeline.current if timeline is not None else ""
            for row in rows:
                if plain_row(row):  # everything else takes the record path below
                    t = row[0]
                    if t > latest:  # noqa: PLR1730 - cheaper than a call, per row
                        latest = t
                    append(line_of(row, current if single else profile_at(timeline, t)))
                    add_time(t)
                    n += 1
                    continue
                t, line = self._slow(row, seq)
                add_time(t)
                n += 1
                append(line)
                # A record of the sealog source may have changed the profile.
                single = len(spans) <= 1
                current = timeline.current if timeline is not None else ""
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

    def _begin(self, seq: int) -> None:
        """Before a batch's rows: what its plain lines share (the frame's ``seq``)."""

    def _plain_line(self, row: list[Any], profile: str) -> str:
        """The line of a row :func:`plain_row` accepts, under ``profile``."""
        raise NotImplementedError  # pragma: no cover

    def _unwanted(self, rows: list[Any], seq: int) -> Iterator[tuple[list[str], list[float]]]:
        # Nothing is printed for this Keep, but every row is checked as read() does.
        n = 0
        try:
            for row in rows:
                self._record(row, seq)
                n += 1
        finally:
            self._reader.records += n
        yield from ()

    def _record(self, row: Any, seq: int) -> Record:
        """A row through the record path: checked, and observed by the timeline."""
        compact = isinstance(row, list) and len(row) == 8 and row[4] is None
        record = Record.from_row(expand_row(row) if compact else row, seq)
        timeline = self._reader.timeline
        if timeline is not None:
            timeline.observe(record)
        return record

    def _slow(self, row: Any, seq: int) -> tuple[float, str]:
        """A row's time and line through the record path."""
        record = self._record(row, seq)
        timeline = self._reader.timeline
        profile = profile_at(timeline, record.time)
        view = RecordView(self._reader.session, self._keep, profile, record, self._launch)
        return record.time, self._render(view)


class _JsonRows(_SessionRows):
    """``--json`` lines (see :func:`record_json_line`)."""

    _head = ""
    _seq_text = ""

    def _begin(self, seq: int) -> None:
        self._head = json_head(self._reader.session, self._keep)
        self._seq_text = f',"seq":{seq}'

    def _plain_line(self, row: list[Any], profile: str) -> str:
        t, level, source, logger, message, template, _, fields = row
        if not fields:
            fields_text = "{}"
        elif _c_encode is None:  # pragma: no cover - no C accelerator
            fields_text = _encode_value(fields)
        else:
            try:
                fields_text = "".join(_c_encode(fields, 0))
            except RecursionError:  # as _encode_value does
                fields_text = _encode_value(fields)
        string = _string
        return (
            f'{self._head}{t!r},"level":{_level_json(level)},"source":{string(source)},'
            f'"logger":{string(logger)},"message":{string(message)},'
            f'"template":{"null" if template is None else string(template)},'
            f'"exception":null,"fields":{fields_text}{self._seq_text}{json_tail(profile)}'
        )


class _TextRows(_SessionRows):
    """Text lines (see :meth:`TextRenderer.row_line`)."""

    def __init__(self, reader: SessionReader, selection: Selection, renderer: TextRenderer) -> None:
        super().__init__(reader, selection, renderer.render)
        self._row_line = renderer.row_line

    def _plain_line(self, row: list[Any], profile: str) -> str:
        t, level, source, logger, message, _, _, fields = row
        return self._row_line(
            self._reader.session,
            self._keep,
            profile,
            self._launch,
            t,
            level,
            source,
            logger,
            message,
            fields,
        )


def _select_lines(
    chosen: list[SessionReader],
    views: Iterator[RecordView],
    selection: Selection,
    merge: bool,
    make: Callable[[SessionReader], _SessionRows],
    render: Callable[[RecordView], str],
) -> Iterator[str]:
    # Unless a selection tests records, the views' generators (not started) are dropped.
    if selection.matcher() is not None:
        return _grouped(map(render, views))
    if len(chosen) == 1 or not merge:
        return itertools.chain.from_iterable(r.read_with(make(r).joined) for r in chosen)
    # Merged by time as select_records merges them (ties keep the sessions' order).
    timed = [r.read_with(make(r).timed) for r in chosen]
    return _grouped(map(itemgetter(1), heapq.merge(*timed, key=itemgetter(0))))


def _grouped(lines: Iterator[str], size: int = 256) -> Iterator[str]:
    """Lines joined ``size`` at a time."""
    return map("".join, iter(lambda: list(itertools.islice(lines, size)), []))


def select_json_lines(
    store: Path | str,
    key: OwnerPrivateKey,
    selection: Selection | None = None,
    *,
    session: str | None = None,
    merge: bool = True,
) -> tuple[list[SessionReader], Iterator[str]]:
    """The ``--json`` lines of :func:`select_records`'s records (:func:`record_json_line`):
    the same bytes, each string one or more whole lines.

    Raises:
        FormatError: the store is missing, empty, or holds foreign files.
    """
    sel = selection or Selection()
    chosen, views = select_records(store, key, sel, session=session, merge=merge)

    def make(reader: SessionReader) -> _SessionRows:
        return _JsonRows(reader, sel, record_json_line)

    return chosen, _select_lines(chosen, views, sel, merge, make, record_json_line)


def select_text_lines(
    store: Path | str,
    key: OwnerPrivateKey,
    selection: Selection | None = None,
    *,
    session: str | None = None,
    merge: bool = True,
    colour: bool = False,
) -> tuple[list[SessionReader], Iterator[str]]:
    """The text lines of :func:`select_records`'s records, as ``sealog read`` prints them: a
    session column when there are several sessions, a Keep column when they come from
    several Keeps (merged) or several sessions (one after the other).

    Raises:
        FormatError: the store is missing, empty, or holds foreign files.
    """
    sel = selection or Selection()
    chosen, views = select_records(store, key, sel, session=session, merge=merge)
    if merge:
        headers = [r.read_header() for r in chosen]
        keep_column = len({h.keep_id for h in headers if h is not None}) > 1
    else:
        # Session by session, later headers are not read yet: show the Keep anyway.
        keep_column = len(chosen) > 1
    renderer = TextRenderer(colour=colour, session_column=len(chosen) > 1, keep_column=keep_column)

    def make(reader: SessionReader) -> _SessionRows:
        return _TextRows(reader, sel, renderer)

    return chosen, _select_lines(chosen, views, sel, merge, make, renderer.render)
