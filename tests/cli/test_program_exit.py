"""The ``sealog`` program exits without the interpreter's teardown, after everything is written:
its output, its exit code and what its exit handlers write are those of the command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from clihelp import sealog, sealog_subprocess

WORKLOAD = "import logging; [logging.warning('line %d', i) for i in range(3000)]"


def _store(tmp_path: Path, owner: tuple[Path, Path]) -> Path:
    store = tmp_path / "store"
    done = sealog_subprocess(
        "run", "--owner", owner[1], "--profile", "testing", "--store", store, "--",
        sys.executable, "-c", WORKLOAD,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return store


def test_a_whole_process_prints_all_of_its_output_and_keeps_its_exit_code(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    store = _store(tmp_path, owner)
    # Several hundred kilobytes through a pipe: all of it is flushed before the process ends.
    done = sealog_subprocess("read", store, "--key", owner[0], "--json")
    assert done.returncode == 0, done.stderr
    assert done.stdout == sealog("read", store, "--key", owner[0], "--json").stdout
    assert sum('"message":"line ' in line for line in done.stdout.splitlines()) == 3000
    (seal,) = store.glob("*.seal")
    seal.write_bytes(seal.read_bytes()[:-40])  # cut off: verify's own exit code, 1
    done = sealog_subprocess("verify", store, "--key", owner[0])
    assert done.returncode == 1
    assert "TRUNCATED" in done.stdout
    done = sealog_subprocess("read", tmp_path / "nowhere", "--key", owner[0])
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("sealog: error:")


def test_the_run_exit_code_is_the_workloads_and_the_session_is_whole(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    store = tmp_path / "store"
    done = sealog_subprocess(
        "run", "--owner", owner[1], "--profile", "testing", "--store", store, "--",
        sys.executable, "-c", WORKLOAD + "; raise SystemExit(7)",
    )  # fmt: skip
    assert done.returncode == 7
    last = json.loads(done.stderr.splitlines()[-1])  # the last event, written before the exit
    assert (last["event"], last["status"]) == ("keep.failed", 7)
    verified = sealog_subprocess("verify", store, "--key", owner[0])
    assert verified.returncode == 0, verified.stdout
    assert "INTACT" in verified.stdout


def test_every_host_line_of_a_development_run_is_written_before_the_exit(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    done = sealog_subprocess(
        "run", "--owner", owner[1], "--profile", "development", "--store", tmp_path / "store",
        "--", sys.executable, "-c", WORKLOAD,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = [json.loads(line) for line in done.stderr.splitlines()]
    lines = [e["message"] for e in shown if e["event"] == "keep.log" and e["logger"] == "root"]
    assert lines == [f"line {i}" for i in range(3000)]
    assert shown[-1]["event"] == "keep.exited"
