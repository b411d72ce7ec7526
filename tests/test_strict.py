"""The one canonical encoder and the strict readers refuse what two parsers could read apart."""

from __future__ import annotations

import json
import math

import pytest

from sealog._strict import MAX_DEPTH, canonical_json, strict_json, strict_toml
from sealog.errors import FormatError


def test_canonical_encoding_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "\ud800"])
def test_value_without_an_exact_json_form_is_never_signed(value: object) -> None:
    with pytest.raises(FormatError, match="no canonical JSON form"):
        canonical_json({"x": value})


def test_duplicate_key_smuggling_a_second_value_is_refused() -> None:
    # Two parsers can disagree on which "profile" counts; sealog reads neither.
    with pytest.raises(FormatError, match="duplicate key 'profile'"):
        strict_json('{"profile": "production", "profile": "development"}', "order.json")


@pytest.mark.parametrize("text", ["[NaN]", '{"x": Infinity}', "[-Infinity]"])
def test_non_standard_numbers_are_refused(text: str) -> None:
    with pytest.raises(FormatError, match=r"order\.json: not valid JSON"):
        strict_json(text, "order.json")


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_json_is_one_error_not_a_recursion_crash(opener: str) -> None:
    with pytest.raises(FormatError, match="nested deeper"):
        strict_json(opener * 100_000, "bundle.json")


def test_nesting_up_to_the_limit_parses() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert json.dumps(strict_json(text, "x")).count("[") == MAX_DEPTH


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"pattern": "[" * 100 + '"\\'})
    assert strict_json(text, "x") == {"pattern": "[" * 100 + '"\\'}


def test_deeply_nested_toml_is_one_error_not_a_recursion_crash() -> None:
    with pytest.raises(FormatError, match=r"policy\.toml: invalid TOML"):
        strict_toml("x = " + "[" * 100_000, "policy.toml")
