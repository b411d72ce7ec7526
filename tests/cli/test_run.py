"""``sealog run``: a workload runs in a Keep; the host learns only lifecycle events."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from clihelp import SEALOG, fast_profile, host_events, sealog

from sealog.keep._host_channel import CAUSES, VOCABULARY


def write(path: Path, code: str) -> Path:
    path.write_text(textwrap.dedent(code))
    return path


def records(store: Path, key: Path) -> list[dict[str, Any]]:
    done = sealog("read", store, "--key", key, "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def verdicts(store: Path, key: Path) -> list[dict[str, Any]]:
    done = sealog("verify", store, "--key", key, "--json")
    return [json.loads(line) for line in done.stdout.splitlines()]


def assert_vocabulary(stderr: str) -> list[dict[str, Any]]:
    events = host_events(stderr)
    for event in events:
        name = event["event"]
        assert name in VOCABULARY, name
        assert set(event) - {"event", "time"} <= VOCABULARY[name], event
        if "code" in event:
            assert event["code"] in CAUSES
    return events


@pytest.mark.parametrize(("code", "expected"), [(0, "keep.exited"), (3, "keep.failed")])
def test_run_exits_with_the_workload_code(
    tmp_path: Path, owner: tuple[Path, Path], code: int, expected: str
) -> None:
    key, pub = owner
    script = write(tmp_path / "w.py", f"import sys; sys.exit({code})")
    done = sealog("run", "--owner", pub, "--store", tmp_path / "st", "--", sys.executable, script)
    assert done.returncode == code
    events = assert_vocabulary(done.stderr)
    assert [e["event"] for e in events] == ["keep.starting", "keep.ready", expected]
    assert verdicts(tmp_path / "st", key)[0]["status"] == "intact"


def test_python_logging_arrives_structured(tmp_path: Path, owner: tuple[Path, Path]) -> None:
    key, pub = owner
    script = write(
        tmp_path / "w.py",
        """
        import logging
        logging.getLogger("app.db").warning("retry %d of %s", 2, "db", extra={"shard": 7})
        """,
    )
    done = sealog("run", "--owner", pub, "--store", tmp_path / "st", "--", sys.executable, script)
    assert done.returncode == 0, done.stderr
    (rec,) = [r for r in records(tmp_path / "st", key) if r["logger"] == "app.db"]
    assert rec["level"] == "WARNING"
    assert rec["message"] == "retry 2 of db"
    assert rec["template"] == "retry %d of %s"
    assert rec["fields"] == {"shard": 7}
    assert rec["source"] == "workload"


def test_uncaught_exception_reaches_owner_and_host_gets_a_code(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    key, pub = owner
    script = write(tmp_path / "w.py", "raise KeyError('no such user CANARY-EXC')\n")
    done = sealog(
        "run",
        "--owner",
        pub,
        "--profile",
        "testing",
        "--store",
        tmp_path / "st",
        "--",
        sys.executable,
        script,
    )
    assert done.returncode == 1
    events = assert_vocabulary(done.stderr)
    assert events[-1]["event"] == "keep.failed"
    assert events[-1]["code"] == "workload.uncaught_exception"
    assert "CANARY" not in done.stderr
    (rec,) = [r for r in records(tmp_path / "st", key) if r["logger"] == "sealog.uncaught"]
    assert rec["exception"]["type"] == "KeyError"
    assert "CANARY-EXC" in rec["exception"]["message"]
    assert rec["exception"]["frames"][0][3] is not None  # testing: full traceback, source line


def test_non_python_command_output_is_sealed(tmp_path: Path, owner: tuple[Path, Path]) -> None:
    key, pub = owner
    done = sealog(
        "run",
        "--owner",
        pub,
        "--profile",
        "testing",
        "--store",
        tmp_path / "st",
        "--",
        "sh",
        "-c",
        "echo out-line; echo err-line >&2; exit 4",
    )
    assert done.returncode == 4
    assert "out-line" not in done.stdout + done.stderr
    got = {(r["logger"], r["message"]) for r in records(tmp_path / "st", key)}
    assert ("stdout", "out-line") in got
    assert ("stderr", "err-line") in got


def test_development_shows_output_in_clear(tmp_path: Path, owner: tuple[Path, Path]) -> None:
    _, pub = owner
    done = sealog(
        "run",
        "--owner",
        pub,
        "--profile",
        "development",
        "--store",
        tmp_path / "st",
        "--",
        "sh",
        "-c",
        "echo visible-line",
    )
    assert done.returncode == 0
    assert "visible-line" in done.stdout


def test_workload_killed_by_signal_exits_128_plus_n(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    key, pub = owner
    prof = fast_profile(tmp_path, "production")
    script = write(
        tmp_path / "w.py",
        """
        import logging, os, signal
        logging.getLogger("app").error("about to die")
        os.kill(os.getpid(), signal.SIGKILL)
        """,
    )
    done = sealog(
        "run",
        "--owner",
        pub,
        "--profile",
        prof,
        "--store",
        tmp_path / "st",
        "--",
        sys.executable,
        script,
    )
    assert done.returncode == 128 + signal.SIGKILL
    events = assert_vocabulary(done.stderr)
    assert events[-1]["code"] == "workload.killed"
    # The runtime survived, sealed the ERROR handed over before the kill, and closed cleanly.
    assert verdicts(tmp_path / "st", key)[0]["status"] == "intact"
    assert any(r["message"] == "about to die" for r in records(tmp_path / "st", key))


def test_sigterm_is_forwarded_and_session_closed(tmp_path: Path, owner: tuple[Path, Path]) -> None:
    key, pub = owner
    script = write(
        tmp_path / "w.py",
        """
        import logging, signal, sys, time
        log = logging.getLogger("app")
        def stop(signum, frame):
            log.warning("got signal %d", signum)
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        print("ready", flush=True)
        time.sleep(30)
        """,
    )
    proc = _start_testing_run(pub, tmp_path / "st", script)
    _wait_for_event(proc, "keep.ready")
    # The handler is installed once "ready" is sealed (stdout is sealed under testing).
    _wait_for_record(tmp_path / "st", key, "ready")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert verdicts(tmp_path / "st", key)[0]["status"] == "intact"
    assert any(
        r["message"] == f"got signal {signal.SIGTERM}" for r in records(tmp_path / "st", key)
    )


def test_runtime_killed_leaves_readable_truncated_session(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    key, pub = owner
    script = write(
        tmp_path / "w.py",
        """
        import logging, time
        log = logging.getLogger("app")
        for i in range(1000):
            log.error("tick %d", i)
            time.sleep(0.02)
        """,
    )
    proc = _start_testing_run(pub, tmp_path / "st", script)
    ready = _wait_for_event(proc, "keep.ready")
    _wait_for_record(tmp_path / "st", key, "tick 5")  # several frames sealed, whatever the load
    proc.kill()
    proc.wait(timeout=10)
    os.kill(ready["pid"], signal.SIGKILL)  # the workload runs in its own session: end it too
    (verdict,) = verdicts(tmp_path / "st", key)
    assert verdict["status"] == "truncated"
    assert verdict["message"].startswith(f"truncated after sequence {verdict['last_seq']}")
    assert verdict["last_seq"] >= 1
    done = sealog("read", tmp_path / "st", "--key", key, "--json")
    assert done.returncode == 0  # readable, with a warning
    assert "TRUNCATED" in done.stderr
    ticks = [json.loads(x)["message"] for x in done.stdout.splitlines()]
    assert "tick 0" in ticks


def test_python_workload_in_another_virtual_environment(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    """A workload venv without sealog or its dependencies still gets structured records."""
    key, pub = owner
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    script = write(
        tmp_path / "w.py",
        """
        import logging, sealog
        try:
            import cryptography
            where = "cryptography importable"
        except ImportError:
            where = "no cryptography"
        logging.getLogger("venv.app").warning("token=%s %s", sealog.secret("CANARY-V"), where)
        """,
    )
    done = sealog(
        "run", "--owner", pub, "--store", tmp_path / "st", "--", venv / "bin" / "python", script
    )
    assert done.returncode == 0, done.stderr
    (rec,) = [r for r in records(tmp_path / "st", key) if r["logger"] == "venv.app"]
    assert rec["message"] == "token=[secret] no cryptography"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--owner", "garbage.pub"], "garbage.pub"),
        (["--profile", "no-such-profile"], "no-such-profile"),
        ([], "no command given"),
    ],
)
def test_bad_input_exits_2_before_the_workload_starts(
    tmp_path: Path, owner: tuple[Path, Path], args: list[str], message: str
) -> None:
    _, pub = owner
    (tmp_path / "garbage.pub").write_text("not a key\n")
    marker = tmp_path / "started"
    base = ["--owner", str(pub)] if "--owner" not in args else []
    cmd = [] if message == "no command given" else ["--", "touch", str(marker)]
    done = sealog("run", *base, *args, "--store", tmp_path / "st", *cmd, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not marker.exists()


def test_missing_executable_fails_with_generic_code(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    key, pub = owner
    done = sealog("run", "--owner", pub, "--store", tmp_path / "st", "--", "/no/such/program")
    assert done.returncode == 127
    assert assert_vocabulary(done.stderr)[-1]["code"] == "workload.not_started"
    assert verdicts(tmp_path / "st", key)[0]["status"] == "intact"


def _start_testing_run(pub: Path, store: Path, script: Path) -> subprocess.Popen[str]:
    """``sealog run --profile testing`` in the background, its host channel readable."""
    cmd = [*SEALOG, "run", "--owner", str(pub), "--profile", "testing", "--store", str(store)]
    return subprocess.Popen(
        [*cmd, "--", sys.executable, str(script)], stderr=subprocess.PIPE, text=True
    )


def _wait_for_record(store: Path, key: Path, message: str) -> None:
    """Wait until the owner can read a record with ``message`` from the live session."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if list(store.glob("*.seal")):
            done = sealog("read", store, "--key", key, "--json")
            if any(json.loads(x)["message"] == message for x in done.stdout.splitlines()):
                return
        time.sleep(0.05)
    raise AssertionError(f"no record {message!r} within 30 s")


def _wait_for_event(proc: subprocess.Popen[str], name: str) -> dict[str, Any]:
    assert proc.stderr is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        event: dict[str, Any] = json.loads(line)
        if event["event"] == name:
            return event
    raise AssertionError(f"no {name} event")


@pytest.mark.skipif(
    Path("/sys/kernel/config/tsm/report").exists(), reason="this machine is a TEE guest"
)
def test_tsm_attestation_outside_a_tee_is_refused_before_the_workload_starts(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    _, pub = owner
    marker = tmp_path / "started"
    done = sealog(
        "run",
        "--owner",
        pub,
        "--attest",
        "tsm",
        "--store",
        tmp_path / "st",
        "--",
        "touch",
        marker,
    )
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "not a TEE guest with configfs-tsm (/sys/kernel/config/tsm/report not found)"
    )
    assert not marker.exists()
    assert not list((tmp_path / "st").glob("*.seal"))


def test_auto_attestation_says_which_provider_it_chose(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    key, pub = owner
    done = sealog(
        "run", "--owner", pub, "--attest", "auto", "--store", tmp_path / "st", "--", "true"
    )
    assert done.returncode == 0
    starting = assert_vocabulary(done.stderr)[0]
    assert starting["event"] == "keep.starting"
    assert starting["attest"] in ("none", "tsm", "gramine")
    # The header's evidence is what the host was told was chosen.
    kind = {"none": ("none",), "tsm": ("sev-snp", "tdx"), "gramine": ("sgx",)}[starting["attest"]]
    assert verdicts(tmp_path / "st", key)[0]["evidence"] in kind
