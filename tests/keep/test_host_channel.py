"""The host channel refuses anything outside its documented vocabulary (promise 1)."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sealog
from sealog.keep._host_channel import CAUSES, VOCABULARY, HostChannel, json_time
from sealog.seal._keys import OwnerPrivateKey, write_key_pair

DOC = Path(__file__).resolve().parents[2] / "docs" / "host-channel.md"


def channel() -> tuple[HostChannel, io.StringIO]:
    out = io.StringIO()
    return HostChannel(out, session="ab" * 16), out


@pytest.mark.parametrize(
    ("event", "fields"),
    [
        ("keep.debug_dump", {}),  # not an event
        ("keep.failed", {"reason": "disk full"}),  # not a field of it
        ("keep.failed", {"code": "disk full at /var/lib/app"}),  # free text as a value
        ("keep.failed", {"code": "workload.made_up"}),  # not a cause code
        ("keep.profile_changed", {"profile": "a profile with spaces"}),
    ],
)
def test_workload_text_cannot_reach_the_host_through_the_channel(
    event: str, fields: dict[str, object]
) -> None:
    ch, out = channel()
    with pytest.raises(ValueError, match="host channel"):
        ch.emit(event, **fields)
    ch.flush()
    assert out.getvalue() == ""


def test_a_vocabulary_event_is_one_json_line() -> None:
    ch, out = channel()
    ch.emit("keep.failed", code="workload.killed", status=137, signal=9)
    ch.flush()
    (line,) = out.getvalue().splitlines()
    event = json.loads(line)
    assert event["event"] == "keep.failed"
    assert event["code"] == "workload.killed"
    assert event["session"] == "ab" * 16


def test_documented_vocabulary_is_exactly_the_code_vocabulary() -> None:
    text = DOC.read_text()
    documented = set(re.findall(r"^\| `(keep\.[a-z_]+)` \|", text, re.MULTILINE))
    assert documented == set(VOCABULARY)
    causes = set(re.findall(r"^\| `([a-z]+\.[a-z_]+)` \| ", text, re.MULTILINE)) - documented
    assert causes == set(CAUSES)


LINES = [
    ("INFO", "app", 'plain "quoted" \\ text'),
    ("WARNING", "app.db", "unicode é ✓ \u2028 and a NUL \x00 and a tab\t"),
    ("Level 15", "x", "a custom level"),
    ("ERROR", "stdout", "bad \udcff byte"),
]


def test_a_log_line_is_the_json_of_its_event_with_sorted_keys() -> None:
    """What the host reads and what the store keeps is exactly ``json.dumps`` of the event."""
    ch, out = channel()
    times = iter([1700000000.1234, 1700000001.0, 1700000002.5, 5])
    ch = HostChannel(out, session="ab" * 16, clock=lambda: next(times))
    for level, logger, message in LINES:
        ch.log(level, logger, message)
    ch.flush()
    want = [
        json.dumps(
            {
                "event": "keep.log",
                "level": level,
                "logger": logger,
                "message": message,
                "session": "ab" * 16,
                "time": round(t, 3),
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        for (level, logger, message), t in zip(
            LINES, [1700000000.1234, 1700000001.0, 1700000002.5, 5], strict=True
        )
    ]
    assert out.getvalue().splitlines() == want


def test_log_lines_reach_the_recorder_as_written_in_order_with_other_events() -> None:
    """Batched lines and the events between them keep the host's order, in the stream and in
    what the store records (one batch call, or one event per line without a batch recorder)."""
    batches: list[str] = []
    events: list[dict[str, object]] = []
    for record_lines in (batches.append, None):
        out = io.StringIO()
        ch = HostChannel(
            out, record=events.append, record_lines=record_lines, session="cd" * 16
        )
        ch.log("INFO", "app", "one")
        ch.emit("keep.log", level="INFO", logger="app", message="two")
        ch.emit("keep.ready", pid=7)
        ch.log("ERROR", "app", "three")
        ch.flush()
        written = out.getvalue().splitlines()
        kinds = [json.loads(line).get("message", json.loads(line)["event"]) for line in written]
        assert kinds == ["one", "two", "keep.ready", "three"]
        if record_lines is not None:
            assert all(batch.endswith("\n") for batch in batches)
            batched = "".join(batches).splitlines()
            assert batched == [written[0], written[1], written[3]]
            assert [getattr(e, "line", None) for e in events] == [written[2]]
        else:
            recorded = events[1:]  # after the keep.ready of the first round
            assert [getattr(e, "line", None) for e in recorded] == written
            names = [e["event"] for e in recorded]
            assert names == ["keep.log", "keep.log", "keep.ready", "keep.log"]
            assert recorded[2]["pid"] == 7
            # the receiver may hold a line back only while more of its batch follow
            assert [getattr(e, "more", None) for e in recorded] == [True, False, False, False]


def test_the_store_keeps_exactly_the_lines_the_host_was_shown(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    write_key_pair(owner_key, tmp_path / "owner")
    shown = io.StringIO()
    log = logging.getLogger("host-copy")
    with sealog.open_session(
        tmp_path / "owner.pub", tmp_path / "store", "development", logger=log, host_stream=shown
    ):
        for i in range(1200):  # more than one batch
            log.info("line %d: é \"quoted\"", i)
        log.warning("the last one")
    (events,) = (tmp_path / "store").glob("*.events.jsonl")
    assert events.read_text().splitlines() == shown.getvalue().splitlines()
    messages = [json.loads(line).get("message") for line in shown.getvalue().splitlines()]
    assert messages.count("the last one") == 1
    assert [m for m in messages if m and m.startswith("line ")] == [
        f'line {i}: é "quoted"' for i in range(1200)
    ]


@settings(max_examples=2000, deadline=None)
@given(
    t=st.floats(min_value=0, max_value=2e12, allow_nan=False)
    | st.integers(min_value=0, max_value=10**13)
    | st.floats(min_value=1.6e9, max_value=1.9e9).map(lambda x: round(x, 4) + 0.0005)
)
def test_an_event_time_is_written_as_json_writes_it_rounded_to_milliseconds(t: float) -> None:
    assert json_time(t) == json.dumps(round(t, 3))
