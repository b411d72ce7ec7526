"""Line understanding: what the runtime makes of the lines real programs print.

The end-to-end runs are in ``tests/cli/test_run_any_workload.py``; here the reader is driven
directly with the output of real programs (Python, loguru, structlog with rich, bash), to pin
down grouping, bounds and what of a traceback may never be kept.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from sealog.keep._lines import LineReader, LineRules, parse_line, pump
from sealog.profile import LineSettings, builtin_profile, parse_profile
from sealog.seal import Row
from sealog.testing import capture_lines, capture_records


def output(tmp_path: Path, code: str, *args: str) -> str:
    """What a real Python program prints on stderr (and stdout), run as a plain command."""
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(code))
    done = subprocess.run(
        [sys.executable, "-I", str(script), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.stdout + done.stderr


def test_chained_python_traceback_is_one_record_with_both_exceptions(tmp_path: Path) -> None:
    text = output(
        tmp_path,
        """
        def connect():
            raise OSError("connection refused")
        try:
            connect()
        except OSError as exc:
            raise RuntimeError("database unavailable") from exc
        """,
    )
    (record,) = capture_lines(text, profile="testing").records
    assert record.level_name == "ERROR"
    assert record.exception is not None
    assert record.exception.type == "RuntimeError"
    assert record.exception.message == (
        "database unavailable\ncaused by: OSError: connection refused"
    )
    assert [f[2] for f in record.exception.frames] == ["<module>", "connect", "<module>"]
    assert record.exception.frames[1][3] == 'raise OSError("connection refused")'


def test_loguru_traceback_keeps_frames_but_never_variable_values(tmp_path: Path) -> None:
    text = output(
        tmp_path,
        """
        from loguru import logger
        def charge(card_number):
            return 1 / 0
        try:
            charge("".join(reversed("1111-YRANAC-1114")))  # the value is never in the source
        except ZeroDivisionError:
            logger.exception("charge failed")
        """,
    )
    records = capture_lines(text, profile="testing").records
    assert [r.level_name for r in records] == ["ERROR", "ERROR"]
    exc = records[1].exception
    assert exc is not None
    assert exc.type == "ZeroDivisionError"
    assert [f[2] for f in exc.frames] == ["<module>", "charge"]
    # loguru prints the argument's value under the frame: it is not a source line.
    assert "4111-CANARY" not in repr(records)


def test_structlog_rich_traceback_keeps_locations_but_never_locals(tmp_path: Path) -> None:
    text = output(
        tmp_path,
        """
        import structlog
        def login(password):
            raise PermissionError("denied")
        try:
            login("".join(reversed("YRANAC-2retnuh")))  # the value is never in the source
        except PermissionError:
            structlog.get_logger().exception("login failed")
        """,
    )
    records = capture_lines(text, stream="stdout", profile="testing").records
    assert [r.level_name for r in records] == ["ERROR", "ERROR"]
    exc = records[1].exception
    assert exc is not None
    assert exc.type == "PermissionError"
    assert [f[2] for f in exc.frames] == ["<module>", "login"]
    assert "hunter2-CANARY" not in repr(records)


def test_group_longer_than_its_bound_is_cut_and_the_rest_counted() -> None:
    lines = ['Exception in thread "main" java.lang.StackOverflowError']
    lines += ["\tat com.example.Recursion.deeper(Recursion.java:5)"] * 1000
    lines.append("next record")
    profile = parse_profile(
        'format = 1\nname = "p"\nstage = "testing"\n[owner]\nmin_level = "DEBUG"\n'
        "[lines]\ngroup_lines = 50\n",
        source="p.toml",
    )
    trace, after = capture_lines(lines, profile=profile).records
    assert trace.exception is not None
    assert len(trace.exception.frames) == 49
    assert trace.fields["lines"] == 1001
    assert trace.fields["lines_dropped"] == 951
    assert after.message == "next record"


def test_byte_bound_holds_for_a_dump_of_long_lines() -> None:
    rules = LineRules(LineSettings(group_bytes=1024))
    reader = LineReader("stderr", rules)
    rows: list[Row] = []
    reader.feed("panic: boom", rows.append)
    for _ in range(100):
        reader.feed("\t/src/" + "x" * 200 + ".go:1 +0x1", rows.append)
    reader.flush(rows.append)
    (row,) = rows
    assert row.exception is not None
    assert row.fields is not None
    assert sum(len(f[0]) for f in row.exception["frames"]) < 1024
    assert row.fields["lines_dropped"] > 90


def test_a_pending_group_is_sealed_when_the_stream_goes_quiet() -> None:
    """A program that prints a panic and then hangs: the record must not wait for its exit."""
    read_fd, write_fd = os.pipe()
    got: list[Row] = []
    arrived = threading.Event()

    def submit(row: Row) -> None:
        got.append(row)
        arrived.set()

    reader = LineReader("stderr", LineRules(LineSettings()))
    with os.fdopen(read_fd, "rb") as stream:
        thread = threading.Thread(target=pump, args=(stream, reader, submit), kwargs={"idle": 0.01})
        thread.start()
        os.write(write_fd, b"panic: stuck\n\ngoroutine 1 [running]:\n")
        assert arrived.wait(10)
        exception = got[0].exception
        assert exception is not None
        assert exception["message"] == "stuck"
        os.close(write_fd)
        thread.join(10)
    assert len(got) == 1


def test_terminal_colours_do_not_hide_the_level() -> None:
    assert parse_line("\x1b[31mERROR\x1b[0m x")[0] is None  # parse_line takes clean text
    coloured = "\x1b[2m2026-11-27 10:00:00\x1b[0m [\x1b[31merror\x1b[0m] x"
    (record,) = capture_lines([coloured]).records
    assert record.level_name == "ERROR"
    assert "\x1b" not in record.message


@pytest.mark.parametrize(
    "line",
    ["Error handling started", "errors: 0", "INFORMATIONAL banner", "ERRORS=3 seen"],
)
def test_sentences_that_start_with_a_level_like_word_keep_the_stream_level(line: str) -> None:
    (record,) = capture_lines([line], profile="testing").records
    assert record.level_name == "WARNING"  # stderr's default


def test_profile_pattern_names_a_level_the_formats_do_not_know() -> None:
    profile = parse_profile(
        textwrap.dedent(
            """
            format = 1
            name = "p"
            stage = "testing"
            [owner]
            min_level = "DEBUG"
            [lines]
            stdout = "DEBUG"
            [[lines.patterns]]
            match = '^!! '
            level = "CRITICAL"
            [[lines.patterns]]
            match = '^app\\[(?P<level>[a-z]+)\\]'
            """
        ),
        source="p.toml",
    )
    records = capture_lines(
        ["!! reactor down", "app[warn] slow", "app[huh] odd", "plain"], "stdout", profile
    ).records
    assert [r.level_name for r in records] == ["CRITICAL", "WARNING", "DEBUG", "DEBUG"]


def test_understanding_can_be_switched_off() -> None:
    profile = builtin_profile("testing")
    plain = replace(profile, lines=LineSettings(understand=False))
    records = capture_lines(["ERROR boom", '{"level":"info","msg":"x"}'], profile=plain).records
    assert [(r.level_name, r.message) for r in records] == [
        ("WARNING", "ERROR boom"),
        ("WARNING", '{"level":"info","msg":"x"}'),
    ]


def test_free_text_pairs_and_json_fields_are_redacted_in_production() -> None:
    records = capture_lines(
        [
            "ERROR login failed for bob password=hunter2 token: tok_live_abc",
            '{"level":"error","msg":"auth","credentials":{"api_key":"k-123"},"note":"token=t1"}',
            'ERROR payload {"password": "hunter2", "user": "bob"}',
        ]
    ).records
    text = repr(records)
    for secret in ("hunter2", "tok_live_abc", "k-123", "t1"):
        assert secret not in text
    assert "bob" in text


def test_password_pair_in_a_logging_message_is_redacted_too() -> None:
    with capture_records("production") as captured:
        logging.getLogger("app").error("login failed user=bob Password=%s", "hunter2")
    (record,) = captured.records
    assert record.message == "login failed user=bob Password=[redacted]"


def test_segfault_stacks_from_faulthandler_are_one_critical_record(tmp_path: Path) -> None:
    text = output(
        tmp_path,
        """
        import ctypes, faulthandler
        faulthandler.enable()
        def crash():
            ctypes.string_at(0)
        crash()
        """,
    )
    (record,) = capture_lines(text, profile="testing").records
    assert record.level_name == "CRITICAL"
    assert record.exception is not None
    assert record.exception.message == "Segmentation fault"
    assert [f[2] for f in record.exception.frames] == ["<module>", "crash", "string_at"]


def test_crlf_line_ends_do_not_hide_a_json_line() -> None:
    read_fd, write_fd = os.pipe()
    rows: list[Row] = []
    os.write(write_fd, b'{"level":"error","msg":"from a CRLF program"}\r\n')
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as stream:
        pump(stream, LineReader("stdout", LineRules(LineSettings())), rows.append)
    assert [(r[1], r[4]) for r in rows] == [(40, "from a CRLF program")]


def test_a_workload_cannot_stop_the_pump_with_lines_built_to_break_parsers() -> None:
    """Deep JSON, an unbalanced logfmt tail and long crafted group lines are lines like any
    other: every one of them arrives, and the stream goes on."""
    lines = [
        "{" + '"a":[' * 100_000 + "]" * 100_000 + "}",
        "a=" + "b=" * 5000 + '"\\',
        "panic: x",
        "\t" + "(" * 50_000,
        "thread 'main' panicked at '" + "'" * 50_000,
        "ERROR still read",
    ]
    records = capture_lines(lines, profile="testing").records
    assert records[-1].message == "ERROR still read"
    assert records[-1].level_name == "ERROR"


@pytest.mark.parametrize(
    "line",
    [
        '{"level": "warn", "msg": "disk", "ratio": NaN, "big": 1e400, "n": 123456789012345678901}',
        '{"level": "error", "msg": "dup", "msg": "second wins", "x": {"y": [1, 2.5, null]}}',
        '{"level": "info", "msg": "escaped \\ud800 half and \\u00e9", "k": "\\n"}',
        '{"level": "info", "msg": "deep", "x": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"level": "info" "msg": "not json"}',
    ],
    ids=["nan and huge numbers", "duplicate keys", "escapes", "deep", "malformed"],
)
def test_a_json_line_is_read_as_json_loads_reads_it(line: str) -> None:
    """JSON lines are decoded by sealog's fast decoder where it loads; what it gives, or
    declines, must be what the standard library would have made of the line."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        obj = None
    level, message, fields, _ = parse_line(line)
    if not isinstance(obj, dict):  # not JSON (or too deep to read): a line like any other
        assert message == line
        return
    assert message == obj["msg"]
    assert level is not None
    want = {k: v for k, v in obj.items() if k not in ("level", "msg")}
    assert json.dumps(fields, sort_keys=True) == json.dumps(want or None, sort_keys=True)
