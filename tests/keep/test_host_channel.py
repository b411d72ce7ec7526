"""The host channel refuses anything outside its documented vocabulary (promise 1)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from sealog.keep._host_channel import CAUSES, VOCABULARY, HostChannel

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
