"""The host's clear copy (``host = "records"``) obeys every host rule the profile sets, also when
the built-in development rules let each line be made from the row as it is."""

from __future__ import annotations

from typing import Any

import pytest

from sealog.keep._host_rules import HostRules
from sealog.profile import builtin_text, parse_profile
from sealog.seal import Row
from sealog.seal._row import make_row


class Shown:
    """A host channel that keeps what it is told."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, str]] = []

    def log(self, level: str, logger: str, message: str) -> None:
        self.lines.append((level, logger, message))

    def emit(self, event: str, **fields: Any) -> None:
        raise AssertionError(f"a records profile tells lines, not {event}")


def development(**host_rules: str) -> HostRules:
    text = builtin_text("development")
    for key, value in host_rules.items():
        head, rules = text.split("[host_rules]", 1)
        rules = "\n".join(
            f"{key} = {value}" if line.startswith(f"{key} =") else line
            for line in rules.splitlines()
        )
        text = head + "[host_rules]" + rules
    return HostRules(parse_profile(text, source="test.toml"))


def row(message: str, t: float = 1000.0, exc: dict[str, Any] | None = None) -> Row:
    return make_row(t, 20, "workload", "app", message, None, exc, {"k": "v"})


def test_the_built_in_development_copy_is_the_row_as_logged() -> None:
    shown = Shown()
    rules = development()
    for i in range(5):
        rules.tell(row(f"token=abc{i}"), shown)
    exc = {"type": "ValueError", "message": "bad", "frames": [["f.py", 3, "g", "x = 1"]]}
    rules.tell(row("failed", exc=exc), shown)
    assert [m for _, _, m in shown.lines[:5]] == [f"token=abc{i}" for i in range(5)]
    assert shown.lines[5][2].splitlines() == [
        "failed",
        '  File "f.py", line 3, in g',
        "    x = 1",
        "ValueError: bad",
    ]


@pytest.mark.parametrize(
    ("host_rules", "told"),
    [
        ({"redact_patterns": "['abc[0-9]+']"}, ["token=[redacted]"] * 20),
        ({"redact_fields": "['token']"}, ["token=[redacted]"] * 20),
        ({"rate_limit": "5"}, [f"token=abc{i}" for i in range(5)]),
    ],
    ids=["pattern", "field name", "rate limit"],
)
def test_host_rules_a_profile_sets_apply_to_every_line(
    host_rules: dict[str, str], told: list[str]
) -> None:
    shown = Shown()
    rules = development(**host_rules)
    for i in range(20):  # all within one second of the records' own clock
        rules.tell(row(f"token=abc{i}"), shown)
    assert [m for _, _, m in shown.lines] == told
    assert rules.held_back == 20 - len(told)
