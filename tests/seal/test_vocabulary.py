"""The sealed-event vocabulary in code and in docs/format.md is one and the same."""

from __future__ import annotations

import re
from pathlib import Path

from sealog.seal import _vocabulary as vocabulary

DOC = Path(__file__).resolve().parents[2] / "docs" / "format.md"


def test_documented_sealed_events_are_exactly_the_code_vocabulary() -> None:
    text = DOC.read_text()
    documented = set(re.findall(r"^\| `([a-z]+\.[a-z]+)` \| ", text, re.MULTILINE))
    loggers = {
        value
        for name, value in vars(vocabulary).items()
        if name.endswith("_LOGGER") and isinstance(value, str)
    }
    assert documented == loggers | set(vocabulary.SEALED_EVENTS)
