"""Counts in the messages people read agree with their number."""

from __future__ import annotations

import pytest

from sealog._words import plural
from sealog.owner import OwnerPrivateKey, verify_store
from streams import SessionMaker


@pytest.mark.parametrize(
    ("count", "expected"), [(0, "0 records"), (1, "1 record"), (2, "2 records")]
)
def test_one_record_is_singular_and_any_other_count_plural(count: int, expected: str) -> None:
    assert plural(count, "record") == expected


def test_an_irregular_plural_is_given() -> None:
    assert plural(3, "entry", "entries") == "3 entries"
    assert plural(1, "entry", "entries") == "1 entry"


def test_a_one_frame_session_is_told_in_the_singular(
    make_session: SessionMaker, owner_key: OwnerPrivateKey
) -> None:
    store, _ = make_session(records=0, frames_every=1)
    (verdict,) = verify_store(store, owner_key)
    assert verdict.message.startswith("intact and closed: 1 frame, 1 record;")
