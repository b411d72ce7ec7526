"""``sealog diff``: a workload works in one environment and fails in another; the owner asks
"is it my code or the platform?" and the diff must point at the failing operation.

Black-box: the real ``examples/platform_probe.py`` runs under ``sealog run --profile testing``
(trace on), the sessions are sealed to a real key, and ``sealog diff`` compares them.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from clihelp import sealog

from sealog.seal._container import MAGIC, Entry, encode_entry, iter_entries

PROBE = Path(__file__).resolve().parents[2] / "examples" / "platform_probe.py"


@dataclass(frozen=True)
class Runs:
    key: Path
    config: Path
    works: Path  # store: the configuration file was there
    works_again: Path  # store: the same, a second run in the same environment
    fails: Path  # store: the configuration file was missing


def probe(pub: Path, store: Path, config: Path) -> int:
    env = {**os.environ, "PROBE_CONFIG": str(config)}
    done = sealog(
        "run", "--owner", pub, "--profile", "testing", "--store", store, "--",
        sys.executable, PROBE, env=env,
    )  # fmt: skip
    return done.returncode


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """The probe twice where its configuration exists, once where it does not (same path)."""
    tmp = tmp_path_factory.mktemp("diff")
    assert sealog("keygen", tmp / "owner").returncode == 0
    pub = tmp / "owner.pub"
    config = tmp / "probe.conf"
    config.write_text("greeting = hello from the VM\n")
    assert probe(pub, tmp / "works", config) == 0
    assert probe(pub, tmp / "works-again", config) == 0
    config.unlink()  # the Keep's image was built without it
    assert probe(pub, tmp / "fails", config) == 1
    return Runs(tmp / "owner.key", config, tmp / "works", tmp / "works-again", tmp / "fails")


def test_missing_file_diff_names_the_failing_open_first(runs: Runs) -> None:
    done = sealog("diff", runs.works, runs.fails, "--key", runs.key, "--json")
    assert done.returncode == 1, done.stderr
    head, *rest = (json.loads(line) for line in done.stdout.splitlines())
    result = head
    assert result["same"] is False
    first = result["first_divergence"]
    at_b = next(x for x in first["context_b"] if x["index"] == first["index_b"])
    assert at_b["logger"] == "sealog.trace"
    assert at_b["level"] == "WARNING"
    assert at_b["fields"]["event"] == "open"
    assert at_b["fields"]["args"][0] == str(runs.config)
    assert at_b["fields"]["error"].startswith("FileNotFoundError")
    at_a = next(x for x in first["context_a"] if x["index"] == first["index_a"])
    assert at_a["message"].startswith("configuration loaded")
    # the open itself succeeded-or-not in both: it is context before the point, on both sides
    before = [x["message"] for x in first["context_a"] if x["index"] < first["index_a"]]
    assert f"open {runs.config} r" in before
    only_b = [x for x in rest if x["only"] == "b"]
    assert any(x["logger"] == "sealog.uncaught" for x in only_b)
    assert result["counts"]["only_b"] >= len(only_b) >= 1


def test_missing_file_human_output_points_at_the_open(runs: Runs) -> None:
    done = sealog("diff", runs.works, runs.fails, "--key", runs.key)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("sessions diverge at record ")
    b_block = lines[lines.index("B, around the divergence:") :]
    marked = next(line for line in b_block if line.startswith(">"))
    assert "open failed: FileNotFoundError" in marked
    assert str(runs.config) in marked
    assert any(line.startswith("only in B (") for line in lines)
    assert done.stderr == ""


def test_same_workload_same_environment_matches(runs: Runs) -> None:
    """Different pids, session ids, times, CPU and RSS: still a match, exit 0."""
    done = sealog("diff", runs.works, runs.works_again, "--key", runs.key)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == "sessions match"
    js = sealog("diff", runs.works, runs.works_again, "--key", runs.key, "--json")
    assert js.returncode == 0
    (line,) = js.stdout.splitlines()  # the summary only: nothing differs
    assert json.loads(line)["same"] is True


def test_store_with_two_sessions_needs_a_session_named(runs: Runs, tmp_path: Path) -> None:
    both = tmp_path / "both"
    both.mkdir()
    for src in (runs.works, runs.fails):
        for f in src.iterdir():
            (both / f.name).write_bytes(f.read_bytes())
    done = sealog("diff", both, runs.works, "--key", runs.key)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "store has 2 sessions: name one with STORE:SESSION" in done.stderr
    failing = next(f.name.split(".")[0] for f in runs.fails.glob("*.seal"))
    named = sealog("diff", runs.works, f"{both}:{failing[:10]}", "--key", runs.key, "--json")
    assert named.returncode == 1, named.stderr
    assert json.loads(named.stdout.splitlines()[0])["b"]["session"] == failing


@pytest.mark.parametrize(
    "case",
    ["missing-store", "not-a-store", "unknown-session", "missing-key", "bad-key", "bad-context"],
)
def test_bad_input_exits_2_with_one_line(runs: Runs, tmp_path: Path, case: str) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "bad.key").write_text("not a key\n")
    a, b, key, extra = str(runs.works), str(runs.fails), str(runs.key), []
    if case == "missing-store":
        a = str(tmp_path / "nowhere")
    elif case == "not-a-store":
        b = str(tmp_path / "plain")
    elif case == "unknown-session":
        b = f"{runs.fails}:ffffffffffff"
    elif case == "missing-key":
        key = str(tmp_path / "none.key")
    elif case == "bad-key":
        key = str(tmp_path / "bad.key")
    else:
        extra = ["--context", "-1"]
    done = sealog("diff", a, b, "--key", key, *extra)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_truncated_session_is_warned_about_and_still_compared(runs: Runs, tmp_path: Path) -> None:
    """The host cut the failing session's closing frame: warn, compare what authenticated."""
    cut = tmp_path / "cut"
    cut.mkdir()
    for f in runs.fails.iterdir():
        (cut / f.name).write_bytes(f.read_bytes())
    seal = next(cut.glob("*.seal"))
    payloads = [e.payload for e in iter_entries(seal.read_bytes()) if isinstance(e, Entry)]
    seal.write_bytes(MAGIC + b"".join(encode_entry(p) for p in payloads[:-1]))
    done = sealog("diff", runs.works, cut, "--key", runs.key)
    assert done.returncode == 1
    assert "warning: session B" in done.stderr
    assert "truncated" in done.stderr
    assert done.stdout.startswith("sessions diverge at record ")
