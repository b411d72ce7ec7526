"""The owner's commands, black-box: ``sealog keygen``, ``read``, ``verify``, ``host-view``.

Every case runs the real command line in a subprocess on real files; the sessions are written
by ``sealog run`` with real owner keys.
"""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from clihelp import SEALOG, fast_profile, sealog

CANARY = "CANARY-9f1e2d3c"
DOCUMENTED_KEYS = {
    "session",
    "time",
    "level",
    "source",
    "logger",
    "message",
    "template",
    "exception",
    "fields",
    "seq",
}


def write(path: Path, code: str) -> Path:
    path.write_text(textwrap.dedent(code))
    return path


WORKLOAD = f"""
import logging, time
log = logging.getLogger("app.pay")
log.debug("debug {CANARY} detail")
log.info("charging %s", "{CANARY}-card", extra={{"order": 17, "tags": ["a", "b"]}})
time.sleep(0.2)
log.warning("slow upstream {CANARY}")
try:
    raise ValueError("{CANARY} declined")
except ValueError:
    log.exception("payment failed")
time.sleep(0.2)
log.critical("giving up")
"""


def run_workload(folder: Path, pub: Path, store: Path, name: str = "w.py") -> None:
    script = write(folder / name, WORKLOAD)
    profile = fast_profile(folder, "testing")
    done = sealog(
        "run", "--owner", pub, "--profile", profile, "--store", store, "--", sys.executable, script
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """A store with two sessions of the same workload: (store, owner key, session ids)."""
    folder = tmp_path_factory.mktemp("owner")
    assert sealog("keygen", folder / "owner").returncode == 0
    store = folder / "store"
    run_workload(folder, folder / "owner.pub", store)
    run_workload(folder, folder / "owner.pub", store)
    sids = sorted(p.name.split(".")[0] for p in store.glob("*.seal"))
    assert len(sids) == 2
    return store, folder / "owner.key", sids


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- keygen ------------------------------------------------------------------------------------


def test_keygen_writes_private_key_0600_and_public_key(tmp_path: Path) -> None:
    done = sealog("keygen", tmp_path / "alice")
    assert done.returncode == 0, done.stderr
    key, pub = tmp_path / "alice.key", tmp_path / "alice.pub"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("sealog-owner-key:v1:x25519:")
    assert pub.read_text().startswith("sealog-owner-pub:v1:x25519:")
    assert len(pub.read_text().strip().splitlines()) == 1
    assert "alice.key" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alice.key", "alice.pub"]  # no temp


@pytest.mark.parametrize("existing", ["owner.key", "owner.pub"])
def test_keygen_refuses_to_overwrite_an_existing_key(
    tmp_path: Path, owner: tuple[Path, Path], existing: str
) -> None:
    other = "owner.pub" if existing == "owner.key" else "owner.key"
    (tmp_path / other).unlink()  # one file of the pair left: it alone must stop keygen
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    done = sealog("keygen", tmp_path / "owner")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert existing in done.stderr
    assert "--force" in done.stderr
    assert "Traceback" not in done.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_keygen_force_replaces_the_key_pair(tmp_path: Path, owner: tuple[Path, Path]) -> None:
    key, pub = owner
    old_key, old_pub = key.read_text(), pub.read_text()
    done = sealog("keygen", "--force", tmp_path / "owner")
    assert done.returncode == 0, done.stderr
    assert key.read_text() != old_key
    assert pub.read_text() != old_pub
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_post_quantum_hybrid_key_works_end_to_end(tmp_path: Path) -> None:
    done = sealog("keygen", "--kem", "mlkem768-x25519", tmp_path / "pq")
    assert done.returncode == 0, done.stderr
    assert "mlkem768-x25519" in done.stdout
    pub = tmp_path / "pq.pub"
    assert pub.read_text().startswith("sealog-owner-pub:v1:mlkem768-x25519:")
    assert stat.S_IMODE((tmp_path / "pq.key").stat().st_mode) == 0o600
    store = tmp_path / "store"
    run_workload(tmp_path, pub, store)
    verified = sealog("verify", store, "--key", tmp_path / "pq.key", "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    (verdict,) = json_lines(verified.stdout)
    assert verdict["status"] == "intact"
    read = sealog("read", store, "--key", tmp_path / "pq.key", "--json")
    assert read.returncode == 0, read.stderr
    messages = [r["message"] for r in json_lines(read.stdout)]
    assert "giving up" in messages
    header = json_lines(sealog("host-view", store, "--json").stdout)[0]["header"]
    assert header["kem"] == "mlkem768-x25519"


def test_key_of_the_other_kem_is_told_the_session_is_not_addressed_to_it(
    tmp_path: Path, sessions: tuple[Path, Path, list[str]]
) -> None:
    store, _, _ = sessions
    assert sealog("keygen", "--kem", "mlkem768-x25519", tmp_path / "pq").returncode == 0
    done = sealog("verify", store, "--key", tmp_path / "pq.key", "--json")
    assert done.returncode == 1
    assert {v["status"] for v in json_lines(done.stdout)} == {"not-addressed"}
    read = sealog("read", store, "--key", tmp_path / "pq.key", "--json")
    assert read.returncode == 1
    assert read.stdout == ""
    assert CANARY not in read.stderr


# -- read ---------------------------------------------------------------------------------------


def test_read_json_prints_one_object_per_record_with_the_documented_keys(
    sessions: tuple[Path, Path, list[str]],
) -> None:
    store, key, sids = sessions
    done = sealog("read", store, "--key", key, "--json")
    assert done.returncode == 0, done.stderr
    records = json_lines(done.stdout)
    for rec in records:
        assert rec.keys() >= DOCUMENTED_KEYS, rec.keys()
        assert rec["session"] in sids
    app = [r for r in records if r["logger"] == "app.pay"]
    assert len(app) == 2 * 5  # two sessions, five records each (testing seals DEBUG)
    by_level = {r["level"]: r for r in app if r["session"] == sids[0]}
    assert set(by_level) == {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
    info = by_level["INFO"]
    assert info["message"] == f"charging {CANARY}-card"
    assert info["template"] == "charging %s"
    assert info["fields"] == {"order": 17, "tags": ["a", "b"]}
    assert info["source"] == "workload"
    assert isinstance(info["time"], float)
    error = by_level["ERROR"]
    assert error["exception"]["type"] == "ValueError"
    assert error["exception"]["message"] == f"{CANARY} declined"
    closing = [r for r in records if r["message"] == "session closed"]
    assert [r["source"] for r in closing] == ["sealog", "sealog"]


def test_read_level_shows_only_that_level_and_above(sessions: tuple[Path, Path, list[str]]) -> None:
    store, key, _ = sessions
    done = sealog("read", store, "--key", key, "--json", "--level", "error")
    assert done.returncode == 0, done.stderr
    levels = {r["level"] for r in json_lines(done.stdout)}
    assert levels == {"ERROR", "CRITICAL"}


def test_read_session_prefix_shows_only_that_session(
    sessions: tuple[Path, Path, list[str]],
) -> None:
    store, key, sids = sessions
    done = sealog("read", store, "--key", key, "--json", "--session", sids[1][:6])
    assert done.returncode == 0, done.stderr
    records = json_lines(done.stdout)
    assert records
    assert {r["session"] for r in records} == {sids[1]}


def test_read_without_json_prints_readable_lines(sessions: tuple[Path, Path, list[str]]) -> None:
    store, key, sids = sessions
    done = sealog("read", store, "--key", key, "--session", sids[0])
    assert done.returncode == 0, done.stderr
    assert f"charging {CANARY}-card" in done.stdout
    assert "Traceback (most recent call last):" in done.stdout
    assert f"ValueError: {CANARY} declined" in done.stdout
    assert "CRITICAL" in done.stdout


def test_read_follow_waits_for_the_store_and_picks_up_a_restarted_keep_until_interrupted(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    key, pub = owner
    store = tmp_path / "store"
    go = tmp_path / "go"
    script = write(
        tmp_path / "slow.py",
        f"""
        import logging, os, sys, time
        log = logging.getLogger("slow")
        log.error("first " + sys.argv[1])
        deadline = time.monotonic() + 30
        while not os.path.exists({str(go)!r}) and time.monotonic() < deadline:
            time.sleep(0.05)
        log.error("second " + sys.argv[1])
        """,
    )
    profile = fast_profile(tmp_path, "testing")

    def keep(run: str) -> subprocess.Popen[bytes]:
        where = ["--owner", str(pub), "--profile", str(profile), "--store", str(store)]
        return subprocess.Popen(
            [*SEALOG, "run", *where, "--", sys.executable, str(script), run],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    # The reader starts first: the store does not exist yet.
    reader = subprocess.Popen(
        [*SEALOG, "read", str(store), "--key", str(key), "--json", "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None
    out = reader.stdout
    writers = [keep("one")]

    def until(message: str) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["message"] != message:
            line = out.readline()
            assert line, "follow ended on its own"
            seen.append(json.loads(line))
        return seen

    try:
        first = until("first one")[-1]["session"]
        go.touch()
        until("session closed")
        assert writers[0].wait(timeout=20) == 0
        writers.append(keep("two"))  # the Keep restarts: a new session in the same store
        records = until("session closed")
        assert [r["message"] for r in records if r["logger"] == "slow"] == [
            "first two",
            "second two",
        ]
        assert {r["session"] for r in records} == {records[0]["session"]}
        assert records[0]["session"] != first
        assert reader.poll() is None  # still following, for the next restart
        reader.send_signal(signal.SIGINT)
        _, err = reader.communicate(timeout=20)
        assert reader.returncode == 0
        assert "Traceback" not in err
    finally:
        go.touch()
        if reader.poll() is None:
            reader.kill()
        for w in writers:
            w.wait(timeout=20)


# -- verify -------------------------------------------------------------------------------------


def test_verify_json_reports_every_session_intact(sessions: tuple[Path, Path, list[str]]) -> None:
    store, key, sids = sessions
    done = sealog("verify", store, "--key", key, "--json")
    assert done.returncode == 0, done.stderr
    verdicts = json_lines(done.stdout)
    assert sorted(v["session"] for v in verdicts) == sids
    for v in verdicts:
        assert v["status"] == "intact"
        assert v["ok"] is True
        assert v["at_seq"] is None
        assert v["frames"] >= 1
        assert v["last_seq"] == v["frames"] - 1
        assert v["records"] >= 5
        assert v["profile"] == "testing"
        assert v["evidence"] == "none"


def test_verify_json_names_a_truncated_session_and_exits_1(
    tmp_path: Path, sessions: tuple[Path, Path, list[str]]
) -> None:
    store, key, sids = sessions
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in store.iterdir():
        (copy / p.name).write_bytes(p.read_bytes())
    victim = copy / f"{sids[0]}.seal"
    victim.write_bytes(victim.read_bytes()[:-7])
    done = sealog("verify", copy, "--key", key, "--json")
    assert done.returncode == 1
    verdicts = {v["session"]: v for v in json_lines(done.stdout)}
    assert verdicts[sids[0]]["status"] == "truncated"
    assert verdicts[sids[0]]["ok"] is False
    assert "truncated after sequence" in verdicts[sids[0]]["message"]
    assert verdicts[sids[1]]["status"] == "intact"
    plain = sealog("verify", copy, "--key", key)
    assert plain.returncode == 1
    assert "TRUNCATED" in plain.stdout


# -- host-view ----------------------------------------------------------------------------------


def test_host_view_json_shows_sessions_frames_timings_and_events_only(
    sessions: tuple[Path, Path, list[str]],
) -> None:
    store, _, sids = sessions
    done = sealog("host-view", store, "--json")
    assert done.returncode == 0, done.stderr
    assert CANARY not in done.stdout
    assert "charging" not in done.stdout
    views = {v["session"]: v for v in json_lines(done.stdout)}
    assert sorted(views) == sids
    for sid, view in views.items():
        seal = (store / f"{sid}.seal").read_bytes()
        assert view["file_bytes"] == len(seal)
        assert view["frames"] == len(view["frame_sizes"]) >= 2
        assert len(view["times"]) == view["frames"]
        assert view["times"] == sorted(view["times"])
        assert view["header"]["session"] == sid
        assert view["header"]["launch"]["profile"] == "testing"
        events = [e["event"] for e in view["events"]]
        assert events[0] == "keep.starting"
        assert events[-1] == "keep.exited"


def test_host_view_text_shows_what_the_host_holds_and_no_record_text(
    sessions: tuple[Path, Path, list[str]],
) -> None:
    store, _, sids = sessions
    done = sealog("host-view", store)
    assert done.returncode == 0, done.stderr
    for sid in sids:
        assert sid in done.stdout
    assert "frames" in done.stdout
    assert "frame timing" in done.stdout
    assert "keep.starting" in done.stdout
    assert "keep.exited" in done.stdout
    for leak in (CANARY, "charging", "payment failed", "giving up", "slow upstream"):
        assert leak not in done.stdout


def test_host_view_needs_no_key_and_changes_nothing(sessions: tuple[Path, Path, list[str]]) -> None:
    store, _, _ = sessions
    before = {p.name: p.read_bytes() for p in store.iterdir()}
    assert sealog("host-view", store, "--json").returncode == 0
    assert {p.name: p.read_bytes() for p in store.iterdir()} == before
