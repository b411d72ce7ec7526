"""How the owner's commands print: JSON lines equal to the records, plain text, progress."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sealog.errors import FormatError
from sealog.owner import (
    LineWriter,
    ProgressBar,
    Record,
    RecordView,
    TextRenderer,
    parse_level,
    parse_time,
    record_json_line,
)
from sealog.seal._records import ExceptionInfo

text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


@given(
    message=text,
    logger=text,
    keep=text,
    template=st.none() | text,
    fields=st.dictionaries(text, json_values, max_size=4),
    when=st.floats(0, 4e9, allow_nan=False),
    exception=st.none() | st.builds(ExceptionInfo, text, st.none() | text),
)
def test_a_json_line_holds_exactly_the_record(
    message: str,
    logger: str,
    keep: str,
    template: str | None,
    fields: dict[str, Any],
    when: float,
    exception: ExceptionInfo | None,
) -> None:
    """Whatever a workload logged (quotes, newlines, control characters, any script), the
    hand-assembled line parses back to the record's own JSON form."""
    record = Record(when, 30, "workload", logger, message, template, exception, fields, 7)
    line = record_json_line(RecordView("ab" * 16, keep, "production", record))
    assert line.endswith("\n")
    assert "\n" not in line[:-1]
    expected = {"session": "ab" * 16, "keep": keep, **record.to_json(), "profile": "production"}
    assert json.loads(line) == expected
    assert list(json.loads(line)) == [
        "session",
        "keep",
        "time",
        "level",
        "source",
        "logger",
        "message",
        "template",
        "exception",
        "fields",
        "seq",
        "profile",
    ]


def view(record: Record, profile: str = "production") -> RecordView:
    return RecordView("0123456789abcdef" * 2, "keep-1", profile, record, "production")


def test_text_lines_are_plain_unless_colour_is_asked_for() -> None:
    record = Record(1_777_629_600.25, 40, "workload", "app", "failed", fields={"order": 17})
    plain = TextRenderer().render(view(record))
    assert plain == '2026-05-01 10:00:00.250 ERROR    workload:app failed {"order": 17}\n'
    coloured = TextRenderer(colour=True).render(view(record))
    assert "\x1b[" in coloured
    assert coloured.endswith("\n")


def test_columns_and_a_profile_other_than_the_launch_one_are_shown() -> None:
    record = Record(1_777_629_600.0, 10, "workload", "app", "detail")
    line = TextRenderer(session_column=True, keep_column=True).render(view(record, "incident"))
    assert (
        line == "2026-05-01 10:00:00.000 keep-1 01234567 DEBUG    [incident] workload:app detail\n"
    )


def test_long_sealed_fields_are_elided_in_text_only() -> None:
    record = Record(0.0, 20, "sealog", "sealog.control", "policy", fields={"policy": "x" * 5000})
    assert "x" * 100 not in TextRenderer().render(view(record))
    assert "x" * 5000 in record_json_line(view(record))


def test_line_writer_writes_in_chunks() -> None:
    class Counting(io.StringIO):
        writes = 0

        def write(self, s: str) -> int:
            Counting.writes += 1
            return super().write(s)

    out = Counting()
    LineWriter(out, chunk=100).write_all(f"{i}\n" for i in range(1000))
    assert out.getvalue().splitlines() == [str(i) for i in range(1000)]
    assert Counting.writes == 10


@pytest.mark.parametrize(
    ("name", "number"), [("warn", 30), ("FATAL", 50), ("Info", 20), ("15", 15)]
)
def test_level_names_and_aliases(name: str, number: int) -> None:
    assert parse_level(name) == number


def test_relative_and_iso_times() -> None:
    now = 1_777_629_600.0
    assert parse_time("10m", now=now) == now - 600
    assert parse_time("1.5h", now=now) == now - 5400
    assert parse_time("2026-05-01T10:00:00Z") == now
    assert parse_time("2026-05-01T12:00:00+02:00") == now
    assert parse_time("2026-05-01 10:00") == now  # UTC unless it says otherwise
    with pytest.raises(FormatError, match="not a time"):
        parse_time("last tuesday")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_appears_on_a_terminal_only_after_a_second() -> None:
    clock = Clock()
    screen = io.StringIO()
    with ProgressBar("verifying", screen, clock=clock, force_terminal=True) as bar:
        bar.update(10, 100)
        assert not bar.shown  # quick work shows nothing
        clock.now += 1.5
        bar.update(50, 100)
        assert bar.shown
    assert "verifying" in screen.getvalue()


def test_progress_never_draws_when_not_a_terminal() -> None:
    clock = Clock()
    log = io.StringIO()
    with ProgressBar("verifying", log, clock=clock) as bar:
        clock.now += 60
        bar.update(50, 100)
        assert not bar.shown
    assert log.getvalue() == ""


@pytest.mark.parametrize("when", [-62135596801.25, 253402300800.0, 1e300])
def test_a_time_no_calendar_holds_prints_as_seconds_not_a_traceback(when: float) -> None:
    """A faulty sealer's record dated before year 1 or after 9999 still prints, as seconds."""
    record = Record(when, 20, "workload", "app", "m")
    line = TextRenderer().render(view(record))
    assert line.startswith(f"@{int(when)}.")
    assert line.endswith(" INFO     workload:app m\n")
