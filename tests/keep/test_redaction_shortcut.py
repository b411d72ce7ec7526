"""The redaction shortcut (a substring test before each pattern) never lets a match through.

Redaction runs on every record; most text contains none of a pattern's required characters, so
a cheap test skips the search. These tests hold the shortcut to the plain search's result on
text chosen to break it: Unicode characters that case folding matches but lowering does not.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.keep._shape import REDACTED, Shaper, _required_literal
from sealog.profile import builtin_profile
from sealog.profile._model import Destination
from sealog.seal._row import Row, make_row

PATTERNS = builtin_profile("production").owner.redact_patterns
FIELDS = ("password", "secret", "token", "api_key")


def _plain(value: str, patterns: tuple[re.Pattern[str], ...]) -> str:
    for pattern in patterns:
        value = pattern.sub(REDACTED, value)
    return value


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        (r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}", "bearer"),
        (r"AKIA[0-9A-Z]{16}", "AKIA"),
        (r"-----BEGIN [A-Z ]*PRIVATE KEY-----", "PRIVATE KEY-----"),
        (r"(?i)token|secret", None),  # alternatives: no single required text
        (r"[0-9]{4}-[0-9]{4}", "-"),
        (r"(?i)stra\u00dfe", None),  # a literal outside ASCII under case folding: no shortcut
    ],
)
def test_required_literal_is_text_every_match_contains(pattern: str, literal: str | None) -> None:
    assert _required_literal(re.compile(pattern)) == literal


#: Letters that case folding matches to ASCII ones but lowering does not: long s, dotted and
#: dotless i, the Kelvin sign.
FOLDING = "\u017f\u0130\u0131\u212a"
TRICKY = st.text(
    alphabet=st.sampled_from(list("bearerBEARERAKIA0123456789XYZ -=:passwordtokn\"'" + FOLDING)),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(
    prefix=TRICKY,
    secret=st.sampled_from(
        ["bearer abcdefgh12", "BEARER ABCDEFGH12", "bear\u017fr x", "AKIAABCDEFGHIJKLMNOP", "x"]
    ),
)
def test_shortcut_redacts_exactly_what_the_plain_search_redacts(prefix: str, secret: str) -> None:
    shaper = Shaper(Destination(redact_patterns=PATTERNS))
    text = prefix + secret + prefix
    assert shaper._text(text) == _plain(text, PATTERNS)


@pytest.mark.parametrize(
    "text",
    [
        "pa\u017f\u017fword=hunter2",  # a long s folds to "s": the pair must still be found
        "SECRET: hunter2",
        "\u0130d api_key=hunter2",
        "token = 'hunter2'",
    ],
)
def test_field_pairs_in_text_are_redacted_whatever_the_letters(text: str) -> None:
    shaper = Shaper(Destination(redact_fields=FIELDS))
    assert "hunter2" not in shaper._text(text)


def test_bearer_token_with_a_dotless_i_lookalike_is_still_redacted() -> None:
    # "(?i)bearer" matches "bearer" only; the shortcut must not make the result differ either way.
    shaper = Shaper(Destination(redact_patterns=PATTERNS))
    for text in ("Authorization: Bearer abcdefgh123", "\u0130 Authorization: bEaReR abcdefgh123"):
        assert "abcdefgh123" not in shaper._text(text)


def _row(template: str | None, message: str, fields: dict[str, object] | None) -> Row:
    return make_row(1.0, 20, "workload", "app", message, template, None, fields)


def test_a_template_shaped_once_is_redacted_every_time_it_comes_back() -> None:
    """Templates and field names are shaped once and remembered: the remembered result must be
    the redacted one, for every row, also after the memory fills up and starts afresh."""
    shaper = Shaper(Destination(redact_patterns=PATTERNS, redact_fields=FIELDS))
    leaky = "sent Bearer abcdefgh12345 for %s"
    for i in range(10_000):  # more distinct templates than a shaper remembers
        shaped = shaper.shape(_row(f"row {i} %s", f"row {i} x", None))
        assert shaped is not None
        assert shaped.template == f"row {i} %s"
        shaped = shaper.shape(_row(leaky, "sent [redacted] for x", {"Token": f"t{i}", "n": i}))
        assert shaped is not None
        assert shaped.template == f"sent {REDACTED} for %s"
        assert shaped.fields == {"Token": REDACTED, "n": i}


class Path(str):
    """A str subclass, as a workload's own types may be."""


def test_field_values_of_every_type_are_shaped_as_before() -> None:
    shaper = Shaper(Destination(redact_patterns=PATTERNS, redact_fields=FIELDS))
    fields: dict[str, object] = {
        "n": 3,
        "ratio": 0.5,
        "ok": True,
        "none": None,
        "sub": Path("Bearer abcdefgh12345"),
        "nested": {"PASSWORD": "x", "list": ["Bearer abcdefgh12345", 7]},
        "obj": ValueError("Bearer abcdefgh12345"),
    }
    shaped = shaper.shape(_row(None, "m", fields))
    assert shaped is not None
    assert shaped.fields == {
        "n": 3,
        "ratio": 0.5,
        "ok": True,
        "none": None,
        "sub": REDACTED,
        "nested": {"PASSWORD": REDACTED, "list": [REDACTED, 7]},
        "obj": REDACTED,
    }


#: Text made of pieces that redaction reacts to (or nearly), so that rows hit every path.
FIELD_TEXT = st.lists(
    st.sampled_from(
        [
            "token=abc",
            "password: hunter2",
            "api_key = 'k'",
            "Bearer abcdefgh12",
            "AKIAABCDEFGHIJKLMNOP",
            "-----BEGIN RSA PRIVATE KEY-----",
            "bearer",
            "tok",
            "=",
            ":",
            " ",
            "plain words",
            "\u017fecret=x",
            "id 42",
        ]
    ),
    max_size=4,
).map("".join)


@settings(max_examples=600, deadline=None)
@given(
    message=TRICKY | FIELD_TEXT,
    fields=st.none()
    | st.dictionaries(
        st.sampled_from(["user", "Token", "note", "n", "path"]),
        FIELD_TEXT | st.integers() | st.none() | st.lists(FIELD_TEXT, max_size=2),
        max_size=4,
    ),
    template=st.none() | TRICKY | FIELD_TEXT,
)
def test_a_row_shaped_at_once_is_shaped_as_each_of_its_texts_would_be(
    message: str, fields: dict[str, object] | None, template: str | None
) -> None:
    """The whole-row test before shaping (one look at all the texts of a row) never gives back
    a row in which shaping each text would have changed something."""
    shaper = Shaper(Destination(redact_patterns=PATTERNS, redact_fields=FIELDS))
    shaped = shaper.shape(_row(template, message, fields))
    assert shaped is not None
    assert shaped.message == shaper._text(message)
    assert shaped.template == (None if template is None else shaper._text(template))
    assert shaped.fields == (fields if not fields else shaper._value(fields))
