"""Diff at scale: the owner compares a short run with a very long one, in bounded memory.

:func:`diff_streams` must agree with the exact aligner on the cases people meet (a missing
record, an extra one, a changed one, a platform that fails early), and stay bounded where the
exact one cannot: a side with hundreds of thousands of extra records.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from sealog.errors import FormatError
from sealog.owner import diff_sessions, diff_stores, diff_streams
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import Record
from stores import at, write_session


def rec(message: str, level: int = 20, logger: str = "app") -> Record:
    return Record(1_700_000_000.0, level, "workload", logger, message)


def run(*messages: str) -> list[Record]:
    return [rec(m) for m in messages]


CASES = {
    "same": (run("a", "b", "c"), run("a", "b", "c")),
    "one missing in B": (run("a", "b", "c", "d"), run("a", "c", "d")),
    "one extra in B": (run("a", "b", "c"), run("a", "b", "x", "c")),
    "one changed": (run("a", "b", "c", "d"), run("a", "B", "c", "d")),
    "B stops early": (run("a", "b", "c", "d"), run("a", "b")),
    "B goes on": (run("a", "b"), run("a", "b", "c", "d", "e")),
    "only ids differ": (run("session 1a2b3c4d5e6f done"), run("session 9f8e7d6c5b4a done")),
}


@pytest.mark.parametrize("name", CASES)
def test_streaming_diff_agrees_with_the_exact_one(name: str) -> None:
    a, b = CASES[name]
    exact = diff_sessions(a, b)
    streamed = diff_streams(iter(a), iter(b))
    assert streamed.same == exact.same
    assert [x.index for x in streamed.only_a] == [x.index for x in exact.only_a]
    assert [x.index for x in streamed.only_b] == [x.index for x in exact.only_b]
    if exact.first_divergence is None:
        assert streamed.first_divergence is None
    else:
        assert streamed.first_divergence is not None
        assert streamed.first_divergence.index_a == exact.first_divergence.index_a
        assert streamed.first_divergence.index_b == exact.first_divergence.index_b
        assert [x.index for x in streamed.first_divergence.context_a] == [
            x.index for x in exact.first_divergence.context_a
        ]
    assert streamed.only_a_count == len(exact.only_a)
    assert streamed.only_b_count == len(exact.only_b)
    assert (streamed.records_a, streamed.records_b) == (len(a), len(b))


def test_a_long_run_against_a_short_one_keeps_counts_and_only_max_records() -> None:
    short = 1_000
    long = 12_000

    def records(n: int) -> Iterator[Record]:
        for i in range(n):
            yield rec(f"step {i % 5000} of the job", logger=f"app.{i % 7}")

    tracemalloc.start()
    report = diff_streams(records(short), records(long), max_items=10, window=512)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.records_a == short
    assert report.records_b == long
    assert report.only_b_count == long - short
    assert len(report.only_b) == 10
    assert report.only_b[0].index == short
    # Nothing proportional to the 12k records is kept: the windows and ten records.
    assert peak < 8 * 1024 * 1024, peak
    assert "0 only in A, 11000 only in B" in report.summary()


def test_bad_limits_are_refused() -> None:
    with pytest.raises(FormatError, match="max must be 0 or more"):
        diff_streams([], [], max_items=-1)
    with pytest.raises(FormatError, match="context must be 0 or more"):
        diff_streams([], [], context=-2)


def test_diff_stores_reports_verdicts_and_progress(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    a = tmp_path / "a"
    b = tmp_path / "b"
    write_session(a, owner_key, [at(i, f"step {i}") for i in range(12)])
    write_session(b, owner_key, [at(i, f"step {i}") for i in range(12) if i != 4])
    ticks: list[tuple[int, int]] = []
    diffed = diff_stores(
        (a, None),
        (b, None),
        owner_key,
        progress=lambda done, total: ticks.append((done, total)),
        exact_bytes=0,  # these sessions are streamed
    )
    assert diffed.verdict_a.ok
    assert diffed.verdict_b.ok
    assert [x.record.message for x in diffed.report.only_a] == ["step 4"]
    assert diffed.report.only_b_count == 0
    done, total = ticks[-1]
    assert done == total > 0
    assert not diffed.report.exact
    exact = diff_stores((a, None), (b, None), owner_key)
    assert exact.report.exact
    assert [x.index for x in exact.report.only_a] == [x.index for x in diffed.report.only_a]


def test_the_first_failing_call_only_one_side_has_is_named_when_streaming() -> None:
    def failed(path: str) -> Record:
        fields = {"event": "open", "args": [path, "r"], "error": "FileNotFoundError"}
        return Record(
            0.0, 30, "runtime", "sealog.trace", f"open failed: {path}", None, None, fields
        )

    a = [rec("start"), failed("/tmp/cache"), rec("done")]
    b = [rec("start"), failed("/tmp/cache"), failed("/dev/sgx_enclave"), rec("done")]
    report = diff_streams(iter(a), iter(b))
    assert report.failing_only_a is None
    assert report.failing_only_b is not None
    assert report.failing_only_b.index == 2
    assert report.failing_only_b == diff_sessions(a, b).failing_only_b
