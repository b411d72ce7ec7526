"""Keeps on several hosts ship sealed sessions through one JetStream server; the owner lists,
reads merged and verifies them from ``nats://`` as from a folder."""

from __future__ import annotations

import asyncio
import json
import queue
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path

from clihelp import SEALOG, fast_profile
from natshelp import Cli, Cluster, js_call, wait_for

from sealog.errors import FormatError
from sealog.host import NatsTarget, Store, relay_store
from sealog.owner import list_stream
from streams import SessionMaker

_LOG_AND_WAIT = """
import logging, os, sys, time
logging.basicConfig(level=logging.INFO)
for i in range(5):
    logging.warning("%s line %d", sys.argv[1], i)
"""


def test_three_keeps_with_a_relay_each_are_listed_read_merged_and_intact(
    nats: Cluster, tmp_path: Path, cli: Cli, owner_files: tuple[Path, Path]
) -> None:
    key, pub = owner_files
    source = nats.source()
    profile = fast_profile(tmp_path, "testing")
    keeps = ["alpha", "beta", "gamma"]
    relays, runs = [], []
    for keep in keeps:
        Store.create(tmp_path / keep)
        relays.append(
            subprocess.Popen(
                [*SEALOG, "relay", str(tmp_path / keep), "--to", source],
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for keep in keeps:
        runs.append(
            subprocess.Popen(
                [*SEALOG, "run", "--owner", str(pub), "--profile", str(profile),
                 "--store", str(tmp_path / keep), "--keep-id", keep, "--",
                 sys.executable, "-c", _LOG_AND_WAIT, keep],
                stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
    try:
        assert [r.wait(timeout=30) for r in runs] == [0, 0, 0]
    finally:
        for relay in relays:
            relay.send_signal(signal.SIGTERM)  # a relay stops after one last pass and its acks
    for relay in relays:
        _, err = relay.communicate(timeout=15)
        assert relay.returncode == 0, err
        events = [json.loads(line)["event"] for line in err.splitlines()]
        assert events[0] == "relay.started"
        assert "relay.session" in events
        assert events[-1] == "relay.stopped"

    code, out, err = cli("sessions", source, "--key", key, "--json")
    assert code == 0, err
    listed = [json.loads(line) for line in out.splitlines()]
    assert sorted(v["keep"] for v in listed) == keeps
    assert {v["status"] for v in listed} == {"intact"}

    code, out, err = cli("read", source, "--key", key, "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)  # merged by time
    said = [r["message"] for r in rows if r["logger"] == "root"]
    for keep in keeps:
        assert [m for m in said if m.startswith(keep)] == [f"{keep} line {i}" for i in range(5)]
    assert all(r["keep"] in keeps and len(r["session"]) == 32 for r in rows)

    code, out, err = cli("verify", source, "--key", key)
    assert code == 0, err
    assert out.count("INTACT") == 3

    code, out, _ = cli("verify", source, "--key", key, "--keep", "beta", "--json")
    assert code == 0
    assert [json.loads(line)["keep"] for line in out.splitlines()] == ["beta"]


def test_relay_started_again_publishes_nothing_twice(
    nats: Cluster, make_session: SessionMaker
) -> None:
    """The relay resumes from what the stream holds, not from a cursor of its own."""
    store, sid = make_session(records=60, close=False)
    target = NatsTarget.parse(nats.source())
    first = asyncio.run(relay_store(store, target, once=True, emit=lambda *a, **k: None))
    again = asyncio.run(relay_store(store, target, once=True, emit=lambda *a, **k: None))
    assert first.messages >= 10
    assert (again.messages, again.duplicates) == (0, 0)
    (found,) = list_stream(nats.source())
    assert (found.session, found.messages) == (sid, first.messages)


def test_owner_pulls_a_stream_into_a_folder_that_verifies_the_same(
    nats: Cluster, make_session: SessionMaker, tmp_path: Path, cli: Cli
) -> None:
    store, sid = make_session(records=30)
    make_session(records=10, store=store)
    asyncio.run(relay_store(store, NatsTarget.parse(nats.source()), once=True))
    code, out, err = cli("pull", nats.source(), tmp_path / "pulled")
    assert code == 0, err
    assert "pulled 2 session(s)" in out
    pulled = Store.open(tmp_path / "pulled")
    assert sorted(pulled.sessions()) == sorted(Store.open(store).sessions())
    assert pulled.seal_path(sid).read_bytes() == Store.open(store).seal_path(sid).read_bytes()


def test_run_publishing_straight_to_nats_reads_back_intact_and_follow_sees_late_records(
    nats: Cluster, tmp_path: Path, cli: Cli, owner_files: tuple[Path, Path]
) -> None:
    key, pub = owner_files
    source = nats.source()
    go = tmp_path / "go"
    workload = (
        "import logging, os, time\n"
        "logging.warning('before the reader')\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.02)\n"
        "logging.warning('after the reader')\n"
    )
    profile = fast_profile(tmp_path, "testing")
    run = subprocess.Popen(
        [*SEALOG, "run", "--owner", str(pub), "--profile", str(profile), "--store", source,
         "--keep-id", "direct", "--", sys.executable, "-c", workload],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: _sessions(source), timeout=20)
        follow = subprocess.Popen(
            [*SEALOG, "read", source, "--key", str(key), "--follow", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert follow.stdout is not None
        stdout = follow.stdout
        # Bounded: a reader that never prints fails the test instead of hanging it.
        ready, _, _ = select.select([stdout], [], [], 30)
        assert ready, "read --follow printed nothing"
        first = json.loads(stdout.readline())
        assert first["session"]
        go.touch()
        assert run.wait(timeout=30) == 0
        # follow goes on until interrupted: read its lines on a thread, each wait bounded
        lines: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            for line in stdout:
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        said = []
        while "session closed" not in said:
            line = lines.get(timeout=30)
            said.append(json.loads(line)["message"])
        follow.send_signal(signal.SIGINT)
        _, err = follow.communicate(timeout=30)
    finally:
        go.touch()
        run.kill()
        if follow.poll() is None:
            follow.kill()
    assert follow.returncode == 0, err
    assert "after the reader" in said
    code, _, err = cli("verify", source, "--key", key, "--keep", "direct")
    assert code == 0, err


def _sessions(source: str) -> list[object]:
    try:
        return list(list_stream(source))
    except FormatError:
        return []  # the stream is not created yet


def test_unreachable_server_is_one_line_and_exit_2(
    tmp_path: Path, cli: Cli, owner_files: tuple[Path, Path]
) -> None:
    from natshelp import free_port

    Store.create(tmp_path / "store")
    source = f"nats://127.0.0.1:{free_port()}"
    code, _, err = cli("relay", tmp_path / "store", "--to", source, "--once")
    assert code == 2
    assert err.count("\n") == 1
    assert "cannot reach a NATS server" in err
    code, _, err = cli("relay", tmp_path / "store", "--to", source)  # a daemon: same at start
    assert (code, err.count("\n")) == (2, 1)
    code, _, err = cli("run", "--owner", owner_files[1], "--store", source, "--", "true")
    assert (code, err.count("\n")) == (2, 1)
    assert "cannot reach a NATS server" in err
    code, _, err = cli("pull", "nats://no host/x", tmp_path / "pulled")
    assert (code, err.count("\n")) == (2, 1)


def test_existing_stream_that_would_drop_frames_is_refused(
    nats: Cluster, tmp_path: Path, cli: Cli
) -> None:
    from nats.js import api

    async def create(js):  # type: ignore[no-untyped-def]
        await js.add_stream(
            api.StreamConfig(name="SEALOG", subjects=["sealog.SEALOG.>"], max_msgs_per_subject=5)
        )

    js_call(nats.source(), create)
    Store.create(tmp_path / "store")
    code, _, err = cli("relay", tmp_path / "store", "--to", nats.source(), "--once")
    assert code == 2
    assert "max_msgs_per_subject 5 would drop frames" in err


def test_retention_asked_differently_from_the_stream_is_refused(
    nats: Cluster, tmp_path: Path, cli: Cli
) -> None:
    Store.create(tmp_path / "store")
    code, _, err = cli("relay", tmp_path / "store", "--to", nats.source(), "--once",
                       "--max-age", "7d", "--replicas", "1")  # fmt: skip
    assert code == 0, err
    code, _, err = cli("relay", tmp_path / "store", "--to", nats.source(), "--once",
                       "--max-age", "1d")  # fmt: skip
    assert code == 2
    assert "max_age is 604800, asked 86400" in err


def test_owner_views_diffs_and_selects_from_nats_as_from_the_folder(
    nats: Cluster, make_session: SessionMaker, owner_files: tuple[Path, Path], cli: Cli
) -> None:
    key = owner_files[0]
    store, a = make_session(records=30)
    _, b = make_session(records=12, store=store)
    source = nats.source()
    asyncio.run(relay_store(store, NatsTarget.parse(source), once=True, emit=lambda *x, **y: None))

    code, out, err = cli("host-view", source, "--json")
    assert code == 0, err
    on_nats = [
        {k: s[k] for k in ("session", "header", "frame_sizes")}
        for s in map(json.loads, out.splitlines())
    ]
    code, out, _ = cli("host-view", store, "--json")
    on_folder = [
        {k: s[k] for k in ("session", "header", "frame_sizes")}
        for s in map(json.loads, out.splitlines())
    ]
    assert sorted(on_nats, key=str) == sorted(on_folder, key=str)

    folder_diff = cli("diff", f"{store}:{a}", f"{store}:{b}", "--key", key)
    nats_diff = cli("diff", f"{source}:{a}", f"{source}:{b[:8]}", "--key", key)
    assert nats_diff[0] == folder_diff[0] == 1, nats_diff[2]  # the sessions differ
    assert len(nats_diff[1].splitlines()) == len(folder_diff[1].splitlines())

    code, out, _ = cli("sessions", source, "--key", key, "--since", "1h", "--json")
    assert (code, len(out.splitlines())) == (0, 2)
    code, _, err = cli("sessions", source, "--key", key, "--since", "2099-01-01T00:00:00Z")
    assert (code, err.strip()) == (2, f"sealog: error: {source}: no sessions match")
    code, _, err = cli("verify", store, "--key", key, "--keep", "keep")
    assert (code, err.count("\n")) == (2, 1)
    assert "nats://" in err
    code, out, _ = cli("sessions", store, "--key", key)
    assert (code, out.count("INTACT")) == (0, 2)


def test_service_opening_a_session_on_nats_is_read_back_intact(
    nats: Cluster, owner_files: tuple[Path, Path], cli: Cli
) -> None:
    """``open_session(store="nats://...")``: a service in its own process publishes directly."""
    import logging

    import sealog

    key, pub = owner_files
    log = logging.getLogger("fleet.service")
    with sealog.open_session(
        pub, store=nats.source(), profile="testing", keep_id="svc", logger=log, host_stream=None
    ) as session:
        for i in range(20):
            log.warning("served %d", i)
    code, out, err = cli("read", nats.source(), "--key", key, "--json", "--keep", "svc")
    assert code == 0, err
    said = [json.loads(line)["message"] for line in out.splitlines()]
    assert [m for m in said if m.startswith("served")] == [f"served {i}" for i in range(20)]
    code, out, _ = cli("verify", nats.source(), "--key", key, "--session", session.session_id)
    assert (code, "INTACT" in out) == (0, True)


def test_listing_and_merged_read_print_hostile_keep_ids_and_records_escaped(
    tmp_path: Path, cli: Cli
) -> None:
    """A host that names its Keep with a newline and escapes cannot forge a line of the listing
    or of the merged read (the columns print text from the store)."""
    from test_display_spoofing import _fabricated_session

    store = _fabricated_session(tmp_path)
    code, out, _ = cli("sessions", store, "--key", tmp_path / "owner.key")
    assert code == 0
    assert len(out.splitlines()) == 1
    assert "\x1b" not in out
    assert "keep\\nffff" in out
    code, out, _ = cli("read", store, "--key", tmp_path / "owner.key", "--merge")
    assert code == 0
    assert "\x1b" not in out
    assert "session closed\\n\\x1b[2J" in out
    assert len(out.splitlines()) == 1


def test_relay_stops_a_session_whose_file_is_damaged_and_ships_what_came_before(
    nats: Cluster, make_session: SessionMaker, owner_files: tuple[Path, Path], cli: Cli
) -> None:
    from sealog.seal._container import MAGIC, Entry, iter_entries

    store, sid = make_session(records=40)
    path = store / f"{sid}.seal"
    data = path.read_bytes()
    fifth = [e for e in iter_entries(data) if isinstance(e, Entry)][5]
    damaged = bytearray(data)
    damaged[fifth.offset] ^= 0xFF  # the entry's length no longer matches its inverse
    path.write_bytes(bytes(damaged))
    assert damaged.startswith(MAGIC)
    said: list[tuple[str, dict[str, object]]] = []
    stats = asyncio.run(
        relay_store(store, NatsTarget.parse(nats.source()), once=True,
                    emit=lambda event, **fields: said.append((event, fields)))
    )  # fmt: skip
    assert stats.messages == 5  # the header and the four frames before the damage
    assert ("relay.damaged", {"session": sid, "reason": "entry length damaged"}) in said
    code, out, _ = cli("verify", nats.source(), "--key", owner_files[0])
    assert code == 1
    assert "TRUNCATED" in out
