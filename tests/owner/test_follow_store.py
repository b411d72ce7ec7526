"""Following a store as it grows: the owner watches a service through Keep restarts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sealog.host._store import SessionFile
from sealog.owner import Selection, Verdict, follow_store
from sealog.seal._keys import OwnerPrivateKey
from stores import at, write_session


class Script:
    """Each poll's wait runs the next step (a Keep writing, restarting): no real sleeping."""

    def __init__(self, *steps: Callable[[], None]) -> None:
        self.steps = list(steps)
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.steps:
            self.steps.pop(0)()

    def done(self) -> bool:
        return not self.steps


def test_follow_waits_for_the_store_and_picks_up_every_new_session(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    store = tmp_path / "not-yet"
    held: list[SessionFile] = []

    def first_keep_starts() -> None:
        _, sink = write_session(store, owner_key, [at(0, "one"), at(1, "two")], close=False)
        held.append(sink)

    def first_keep_dies_and_restarts() -> None:
        held.pop().close()
        write_session(store, owner_key, [at(5, "three")], keep="keep")

    ended: list[Verdict] = []
    script = Script(lambda: None, first_keep_starts, first_keep_dies_and_restarts, lambda: None)
    seen = [
        view.record.message
        for view in follow_store(
            store,
            owner_key,
            on_end=ended.append,
            poll=0.25,
            stop=script.done,
            sleep=script.sleep,
        )
    ]
    assert seen == ["one", "two", "three", "session closed"]
    assert script.waits == [0.25] * 4
    # The restarted Keep's session ended cleanly; the first one is still "being read" because
    # it never closed, and is not reported as ended.
    assert [v.status for v in ended] == ["intact"]


def test_follow_applies_the_selection(tmp_path: Path, owner_key: OwnerPrivateKey) -> None:
    store = tmp_path / "store"
    write_session(store, owner_key, [at(0, "quiet"), at(1, "loud", level=40)], keep="a")
    write_session(store, owner_key, [at(2, "other", level=40)], keep="b")
    seen = [
        (view.keep, view.record.message)
        for view in follow_store(
            store,
            owner_key,
            Selection.parse(level="error", keeps=["a"]),
            stop=lambda: True,
            sleep=lambda _: None,
        )
    ]
    assert seen == [("a", "loud")]


def test_follow_reports_a_tampered_session_once(tmp_path: Path, owner_key: OwnerPrivateKey) -> None:
    store = tmp_path / "store"
    sid, _ = write_session(store, owner_key, [at(i, f"r{i}") for i in range(9)])
    path = store / f"{sid}.seal"
    data = bytearray(path.read_bytes())
    data[-40] ^= 1
    path.write_bytes(bytes(data))
    ended: list[Verdict] = []
    polls = iter([False, False, True])
    for _ in follow_store(
        store, owner_key, on_end=ended.append, stop=lambda: next(polls), sleep=lambda _: None
    ):
        pass
    assert [v.status for v in ended] == ["modified"]
