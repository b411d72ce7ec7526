"""A constant-rate stream under load: per-row admission, exact drop accounting, the rate ladder,
the end-of-session padding, and a sealer that survives bad rows.

DESIGN.md section 10 (capacity against constant rate). Every case logs into a real sealed
session driven tick by tick (``start=False``), then reads what the owner gets.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sealog.host._store import Store
from sealog.keep._backlog import Backlog
from sealog.keep._handler import SealogHandler
from sealog.keep._rate import next_level
from sealog.keep._session import SealedSession
from sealog.owner import read_store, verify_store
from sealog.profile import Overflow, Profile
from sealog.profile._model import Destination
from sealog.seal import Row
from sealog.seal._header import LaunchConfig
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import Record
from sealog.seal._writer import start_session
from streams import none_evidence, plain_profile

#: A padded constant-rate profile with a small backlog, so that overflow is quick to reach.
SMALL = {"padding": True, "cover_traffic": True, "bucket": 512, "max_backlog": 4000}


class Keep:
    """A sealed session driven tick by tick, with a handler on a private logger."""

    def __init__(self, root: Path, key: OwnerPrivateKey, profile: Profile) -> None:
        stream = profile.stream
        launch = LaunchConfig(
            profile.name, profile.stage.value, b"\x33" * 32, key.public_key.key_id
        )
        header, sealer = start_session(
            key.public_key,
            launch,
            none_evidence,
            epoch_frames=stream.epoch_frames,
            bucket=stream.bucket if stream.padding else 0,
            checkpoint_every=stream.checkpoint_every,
        )
        self.store = root / uuid.uuid4().hex[:8]
        self.key = key
        self.session = SealedSession(
            sealer, Store.create(self.store).new_session(header), profile.owner, stream, start=False
        )
        self.log = logging.getLogger(f"backlog.{uuid.uuid4().hex[:12]}")
        self.log.propagate = False
        self.log.handlers = [SealogHandler(self.session, profile)]
        self.log.setLevel(logging.DEBUG)

    def owner_records(self) -> list[Record]:
        (verdict,) = verify_store(self.store, self.key)
        assert verdict.ok, verdict.message
        return [r for _, r in read_store(self.store, self.key)]


@pytest.fixture
def keep(tmp_path: Path, owner_key: OwnerPrivateKey) -> Any:
    def build(**stream: Any) -> Keep:
        return Keep(tmp_path, owner_key, plain_profile(**{**SMALL, **stream}))

    return build


def burst(k: Keep, n: int, level: int = logging.INFO) -> None:
    for i in range(n):
        k.log.log(
            level, "burst record %d with a payload of text that does not repeat %x", i, i * 7919
        )


def numbers(records: list[Record]) -> list[int]:
    return [int(r.message.split()[2]) for r in records if r.source == "workload"]


def test_burst_keeps_its_first_records_and_names_every_dropped_one(
    keep: Callable[..., Keep],
) -> None:
    """Rows are admitted one by one: a burst beyond the backlog keeps its head, never loses a
    whole batch while the backlog is empty, and the drop note names exactly what is missing."""
    k = keep()
    burst(k, 2000)
    k.session.tick()
    k.session.close()
    records = k.owner_records()
    kept = numbers(records)
    assert kept[0] == 0
    assert kept == list(range(len(kept)))  # the head of the burst, in order, nothing skipped
    assert 0 < len(kept) < 2000
    notes = [r for r in records if r.fields.get("ranges")]
    missing = [n for r in notes for a, b in r.fields["ranges"] for n in range(a, b + 1)]
    assert sorted(kept + missing) == list(range(2000))  # every record: sealed or named
    closing = records[-1]
    assert closing.fields["dropped"] == len(missing) == 2000 - len(kept)


def test_burst_that_fits_the_backlog_loses_nothing(keep: Callable[..., Keep]) -> None:
    k = keep(max_backlog=1 << 20)
    burst(k, 5000)
    k.session.tick()
    k.session.close()
    records = k.owner_records()
    assert numbers(records) == list(range(5000))
    assert records[-1].fields["dropped"] == 0


def test_errors_are_admitted_past_the_bound_that_drops_chatter(keep: Callable[..., Keep]) -> None:
    k = keep()
    burst(k, 1000)
    k.log.error("the error that explains the burst")
    k.session.close()
    records = k.owner_records()
    assert any(r.message == "the error that explains the burst" for r in records)
    assert records[-1].fields["dropped"] > 0


def test_drops_in_two_bursts_are_named_as_two_ranges(keep: Callable[..., Keep]) -> None:
    k = keep()
    burst(k, 800)
    k.session.tick()
    for _ in range(200):  # the backlog drains at the rate
        k.session.tick()
    burst(k, 800)
    k.session.close()
    records = k.owner_records()
    ranges = [tuple(x) for r in records if r.fields.get("ranges") for x in r.fields["ranges"]]
    assert len(ranges) == 2
    assert ranges[0][1] < 800 <= ranges[1][0]
    dropped = sum(b - a + 1 for a, b in ranges)
    assert dropped == records[-1].fields["dropped"]
    assert len(numbers(records)) + dropped == 1600


def test_backlog_counts_each_row_once_whatever_its_fate() -> None:
    backlog = Backlog(320, compress=False)
    row = Row(0.0, 20, "workload", "app", "x" * 100, None, None, None)
    fates = [backlog.admit(row) for _ in range(5)]
    assert fates == [True, True, False, False, False]
    assert backlog.next_number == 5
    assert backlog.dropped == 3
    note = backlog.drop_note()
    assert note is not None
    assert note[7] == {"dropped": 3, "ranges": [[2, 4]]}
    assert backlog.drop_note() is None  # reported once


# -- the frame count and the end of a session ------------------------------------------------


@pytest.mark.parametrize("logged", [0, 50, 3000])
def test_frame_count_depends_on_ticks_and_padding_rule_not_on_what_was_logged(
    keep: Callable[..., Keep], logged: int
) -> None:
    """The host counts frames: a quiet and a busy session of the same length look alike."""
    k = keep(max_backlog=1 << 20, pad_multiple=16)
    burst(k, logged)
    for _ in range(10):
        k.session.tick()
    k.session.close()
    expected = 16 if logged < 3000 else 16 * -(-(10 + k.session.frames - 10) // 16)
    assert k.session.frames % 16 == 0
    assert k.session.frames == expected
    if logged < 3000:  # what fits the padding changes nothing at all
        assert k.session.frames == 16


def test_every_frame_of_a_session_under_cover_traffic_has_the_same_size(
    keep: Callable[..., Keep],
) -> None:
    k = keep(max_backlog=1 << 20, pad_multiple=8)
    burst(k, 700)
    for _ in range(3):
        k.session.tick()
    k.session.close()
    records = k.owner_records()
    assert numbers(records) == list(range(700))
    assert k.session.frames % 8 == 0


# -- overflow = "step" ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "pending", "expected"),
    [
        (0, 0, 0),
        (0, 10, 0),  # drains within the hold at the base rate
        (0, 11, 1),  # would not: one rung up
        (1, 39, 1),
        (1, 41, 2),
        (2, 1000, 2),  # the top rung is the top
        (2, 20, 1),  # drains in half a hold one rung down
        (1, 5, 0),
        (1, 6, 1),
    ],
)
def test_rate_ladder_moves_one_rung_per_hold(current: int, pending: int, expected: int) -> None:
    assert next_level((1, 4, 16), current, pending, hold=10) == expected


def test_step_policy_raises_the_rate_only_at_the_end_of_a_hold_and_comes_back(
    keep: Callable[..., Keep],
) -> None:
    k = keep(
        max_backlog=1 << 20,
        overflow=Overflow.STEP,
        step_levels=(1, 4),
        step_hold=4 * 3600.0,  # four intervals of plain_profile's 3600 s
    )
    burst(k, 1000)
    levels = []
    for _ in range(100):
        k.session.tick()
        levels.append(k.session.level)
    assert levels[:3] == [1, 1, 1]  # held for a whole hold first
    assert 4 in levels
    assert levels[-1] == 1  # drained: back to the base rate
    k.session.close()
    assert numbers(k.owner_records()) == list(range(1000))


# -- the sealer survives -------------------------------------------------------------------


def test_a_row_that_cannot_be_shaped_is_reported_and_the_stream_goes_on(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    """A bad row (here a message that is not text, under redaction) must not stop the sealer."""
    profile = plain_profile(**SMALL)
    profile = dataclasses.replace(
        profile,
        owner=Destination(min_level=10, redact_patterns=(__import__("re").compile("x"),)),
    )
    k = Keep(tmp_path, owner_key, profile)
    # A message that is not text, on purpose: what a buggy runtime might hand over.
    k.session.submit([0.0, 30, "workload", "app", 12345, None, None, None])  # type: ignore[arg-type]
    k.log.warning("after the bad row")
    k.session.tick()
    k.session.close()
    records = k.owner_records()
    assert any("could not be shaped" in r.message for r in records)
    assert any(r.message == "after the bad row" for r in records)


def test_a_failing_step_of_the_sealer_threads_is_sealed_and_they_go_on(
    keep: Callable[..., Keep],
) -> None:
    """Whatever a background step raises (a bad encoding, a failing write), the thread seals a
    runtime error record and keeps going: cover traffic never stops."""
    k = keep()

    def broken() -> None:
        raise UnicodeEncodeError("utf-8", "x", 0, 1, "bad")

    k.session._guarded(broken)  # what the packer and emitter threads wrap every step in
    k.log.warning("still sealed afterwards")
    k.session.tick()
    k.session.close()
    records = k.owner_records()
    assert any(r.message == "sealog runtime error: UnicodeEncodeError" for r in records)
    assert any(r.message == "still sealed afterwards" for r in records)
