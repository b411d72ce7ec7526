"""``read`` (text and ``--json``) straight from decoded rows, and ``verify`` checking them:
the same bytes, verdicts and errors as the record path (a :class:`Record` per row, then
:func:`record_json_line` or :meth:`TextRenderer.render`), whatever a sealer wrote."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals import TwoApprovers
from sealog.host._store import Store
from sealog.keep._session import SealedSession
from sealog.owner import (
    Selection,
    TextRenderer,
    record_json_line,
    select_json_lines,
    select_records,
    select_text_lines,
    verify_store,
)
from sealog.profile import builtin_profile, profile_digest
from sealog.seal import Row
from sealog.seal._header import LaunchConfig
from sealog.seal._keys import OwnerPrivateKey, generate_owner_key, write_key_pair
from sealog.seal._writer import start_session
from streams import none_evidence, plain_profile

sys.path.insert(0, str(Path(__file__).parent.parent / "cli"))
from inprocess import cli


def _write_store(root: Path, owner: OwnerPrivateKey, frames: list[bytes]) -> Path:
    """A store of one session whose frames carry ``frames`` as their data, then a close."""
    launch = LaunchConfig("test", "production", b"\x11" * 32, owner.public_key.key_id)
    header, sealer = start_session(owner.public_key, launch, none_evidence)
    sink = Store.create(root / "store").new_session(header)
    for data in frames:
        sink.write_frame(sealer.seal(data))
    sink.write_frame(sealer.seal(b"", close=True))
    sink.close()
    return root / "store"


def _batch(rows: Any, *, ascii_only: bool = False) -> bytes:
    body = json.dumps(rows, ensure_ascii=ascii_only, separators=(",", ":"), default=str)
    data = body.encode("utf-8", "surrogatepass")
    return len(data).to_bytes(4, "big") + data


def _both(
    store: Path, owner: OwnerPrivateKey, selection: Selection | None = None, merge: bool = True
) -> tuple[tuple[str, Any], tuple[str, Any]]:
    """(lines, verdicts) by the row path and by the record path; the text lines (plain and
    coloured) must be the record path's too."""
    chosen, lines = select_json_lines(store, owner, selection, merge=merge)
    fast = "".join(lines)
    fast_verdicts = [(v.status, v.message, v.frames, v.records) for v in map(_verdict, chosen)]
    chosen, views = select_records(store, owner, selection, merge=merge)
    slow = "".join(map(record_json_line, views))
    slow_verdicts = [(v.status, v.message, v.frames, v.records) for v in map(_verdict, chosen)]
    for colour in (False, True):
        chosen, lines = select_text_lines(store, owner, selection, merge=merge, colour=colour)
        text = "".join(lines)
        text_verdicts = [(v.status, v.message, v.frames, v.records) for v in map(_verdict, chosen)]
        assert (text, text_verdicts) == (
            _text(store, owner, selection, merge, colour),
            slow_verdicts,
        )
    return (fast, fast_verdicts), (slow, slow_verdicts)


def _text(
    store: Path, owner: OwnerPrivateKey, selection: Selection | None, merge: bool, colour: bool
) -> str:
    """What ``sealog read`` printed through records: a renderer made once the merge has read
    every session's header."""
    chosen, views = select_records(store, owner, selection, merge=merge)
    first = next(views, None)
    if first is None:
        return ""
    keep_ids = {r.header.keep_id for r in chosen if r.header is not None}
    renderer = TextRenderer(
        colour=colour,
        session_column=len(chosen) > 1,
        keep_column=len(keep_ids) > 1 if merge else len(chosen) > 1,
    )
    return renderer.render(first) + "".join(map(renderer.render, views))


def _verdict(reader: Any) -> Any:
    return reader.verdict()


text = st.text(max_size=12)  # any code point: lone surrogates, controls, other scripts
numbers = (
    st.integers()
    | st.floats()  # NaN and infinities too: json writes them, msgspec declines, json reads them
    | st.sampled_from([1e16, 1e-7, -0.0, 5e-324, 1.7976931348623157e308, 2**64, -(2**70)])
)
values = st.recursive(
    st.none() | st.booleans() | numbers | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
frames_ = st.lists(
    st.tuples(text, st.integers(-(2**40), 2**40), text, st.none() | text), max_size=3
).map(lambda fs: [list(f) for f in fs])
exceptions = st.none() | st.fixed_dictionaries(
    {"type": text, "message": st.none() | text, "frames": frames_},
    optional={"locals": st.lists(st.dictionaries(text, text, max_size=2), max_size=2)},
)
plain_rows = st.tuples(
    st.floats(-1e12, 4e9)  # before year 1 too
    | st.integers(0, 2**33)
    | st.sampled_from([1.0, 2.0, 3.5, math.inf, math.nan]),  # ties across sessions too
    st.sampled_from([10, 20, 30, 40, 50, 15, 0, 1000]) | st.booleans(),
    st.sampled_from(["workload", "runtime", "sealog"]) | text,
    text,
    text,
    st.none() | text,
    exceptions,
    st.none() | st.dictionaries(text, values, max_size=4),
).map(list)
rows_ = st.lists(plain_rows | values | st.lists(values, max_size=9), max_size=6)


batches_ = st.lists(st.tuples(rows_, st.booleans()), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sessions=st.lists(batches_, min_size=1, max_size=3), merge=st.booleans())
def test_any_rows_read_as_json_lines_exactly_as_through_records(
    tmp_path_factory: pytest.TempPathFactory,
    sessions: list[list[tuple[list[Any], bool]]],
    merge: bool,
) -> None:
    """Whatever a sealer wrote (text in any script, lone surrogates, NaN, huge and tiny floats,
    big integers, nested fields, exceptions, rows of the wrong shape), in one session or
    several merged by time, the row path prints the same bytes and ends in the same verdicts
    as a Record per row: a malformed row stops both after the same lines."""
    root = tmp_path_factory.mktemp("rows")
    owner = generate_owner_key()
    for batches in sessions:
        store = _write_store(root, owner, [_batch(r, ascii_only=a) for r, a in batches])
    fast, slow = _both(store, owner, merge=merge)
    assert fast == slow
    # verify checks the rows the same way, without a Record for the plain ones
    checked = verify_store(store, owner, progress=None if merge else lambda _done, _all: None)
    assert [(v.status, v.message, v.frames, v.records) for v in checked] == slow[1]


def test_rows_of_every_kind_in_one_batch_match_the_record_path(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    """Plain rows, a compact one, an exception, an int time and a session note, interleaved,
    and a batch spread over two frames: line for line the record path's."""
    now = 1_700_000_000.25
    rows = [
        [now, 20, "workload", "app", 'héllo "wörld"\n\t\x00\x7f', "héllo %s", None, None],
        [now + 1, 30, "workload", "app.db", "x", None, None, {"n": [1.5, {"d": None}], "é": 1e16}],
        [now + 2, 40, "workload", "app", "boom", None, {"type": "E", "message": "m"}, {}],
        [int(now) + 3, 10, "runtime", "stdout", "\ud800 lone", None, None, {"s": "\udfff"}],
        [now + 4, 20, "sealog", "sealog.session", "note", None, None, {"event": "x"}],
        [now + 5, 20, "workload", "app", None, ["n=%s", "7"], None, None],
    ]
    batch = _batch(rows, ascii_only=True)
    store = _write_store(tmp_path, owner_key, [batch[:9], batch[9:], _batch(rows[:2])])
    (fast_lines, fast_verdicts), slow = _both(store, owner_key)
    assert (fast_lines, fast_verdicts) == slow
    assert fast_verdicts == [("intact", fast_verdicts[0][1], 4, 8)]
    assert [json.loads(line)["message"] for line in fast_lines.splitlines()][5] == "n=7"


def test_a_malformed_row_stops_reading_after_the_rows_before_it(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    """A sealer that wrote a row of the wrong shape: the rows before it are printed, then the
    session is MODIFIED at that frame, as through records."""
    good = [1.5, 20, "workload", "app", "before", None, None, None]
    store = _write_store(
        tmp_path, owner_key, [_batch([good, good, [1.5, "20", "w", "l", "m", None, None, None]])]
    )
    (lines, verdicts), slow = _both(store, owner_key)
    assert (lines, verdicts) == slow
    assert lines.count("\n") == 2
    assert verdicts[0][0] == "modified"
    assert verdicts[0][1].startswith("frame 0: record: malformed time or level")
    done = cli("read", store, "--key", _key_file(tmp_path, owner_key), "--json")
    assert done.code == 1
    assert done.stdout == lines
    assert "frame 0: record: malformed time or level" in done.stderr


def _key_file(root: Path, key: OwnerPrivateKey) -> Path:
    path, _pub = write_key_pair(key, root / "owner", force=True)
    return path


def test_a_selection_or_several_sessions_read_the_same_either_way(
    make_session: Any, owner_key: OwnerPrivateKey, tmp_path: Path
) -> None:
    """Filtered, merged by time and session after session: the same lines as records give."""
    store, _ = make_session(30, frames_every=4)
    make_session(25, frames_every=3, store=store)
    for selection in (None, Selection.parse(level="info"), Selection.parse(keeps=["nope"])):
        for merge in (True, False):
            fast, slow = _both(store, owner_key, selection, merge)
            assert fast == slow
    fast_lines = _both(store, owner_key, merge=False)[0][0]
    assert fast_lines.count("\n") == 55 + 2  # each session's own note too


def test_records_around_a_profile_change_are_tagged_as_through_records(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    """A change by order in the middle of a batch, then records released by it that were
    logged before it: each line carries the profile in force when it was logged."""
    control = TwoApprovers(tmp_path / "log")
    prof = plain_profile()
    launch = LaunchConfig(
        "test",
        "production",
        b"\x11" * 32,
        owner_key.public_key.key_id,
        control.digest,
    )
    header, sealer = start_session(owner_key.public_key, launch, none_evidence)
    sealed = SealedSession(
        sealer,
        Store.create(tmp_path / "store").new_session(header),
        prof.owner,
        prof.stream,
        start=False,
    )
    now = time.time()

    def workload(offset: float, message: str) -> Row:
        return Row(now + offset, 20, "workload", "app", message, None, None, {"i": offset})

    policy_fields = {
        "event": "control.policy",
        "digest": control.digest.hex(),
        "policy": control.text,
    }
    change = {
        "event": "profile.changed",
        "profile": "incident",
        "profile_digest": profile_digest(builtin_profile("incident")).hex(),
        "bundle": control.bundle("keep", now - 1, 600),
    }
    rows = [
        Row(now, 30, "sealog", "sealog.control", "policy", None, None, policy_fields),
        workload(0.5, "before"),
        Row(now + 1, 30, "sealog", "sealog.control", "changed", None, None, change),
        workload(2, "after"),
        workload(0.7, "released: logged before the change"),
    ]
    for row in rows:
        sealed.submit(row)
    sealed.close()
    (lines, verdicts), slow = _both(tmp_path / "store", owner_key)
    assert (lines, verdicts) == slow
    assert verdicts[0][0] == "intact", verdicts
    profiles = {json.loads(x)["message"]: json.loads(x)["profile"] for x in lines.splitlines()}
    assert profiles["before"] == "test"
    assert profiles["after"] == "incident"
    assert profiles["released: logged before the change"] == "test"


def test_sessions_merged_by_time_interleave_as_through_records(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    """Two Keeps logging at once: their lines interleave by time, a tie in the store's
    session order, exactly as the record path merges them."""

    def row(t: float, message: str) -> list[Any]:
        return [t, 20, "workload", "app", message, None, None, None]

    _write_store(
        tmp_path, owner_key, [_batch([row(1.0, "a1"), row(3.0, "a3")]), _batch([row(5.0, "a5")])]
    )
    store = _write_store(
        tmp_path, owner_key, [_batch([row(2.0, "b2"), row(3.0, "b3"), row(4.0, "b4")])]
    )
    (lines, verdicts), slow = _both(store, owner_key)
    assert (lines, verdicts) == slow
    messages = [json.loads(x)["message"] for x in lines.splitlines()]
    assert messages[0] in ("a1", "b2")
    assert sorted(messages) == ["a1", "a3", "a5", "b2", "b3", "b4"]
    assert [m[1] for m in messages] == ["1", "2", "3", "3", "4", "5"]
