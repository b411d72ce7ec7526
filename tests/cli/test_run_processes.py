"""``sealog run`` and the workload's processes: every child, every signal, stdin.

DESIGN.md section 11 (Python workloads get the in-process handler however they start) and
section 10 (a killed workload loses nothing). Real ``sealog run`` processes, real children.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from clihelp import SEALOG, fast_profile, host_events, sealog, sealog_subprocess


def records(store: Path, key: Path) -> list[dict[str, Any]]:
    done = sealog("read", store, "--key", key, "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def intact(store: Path, key: Path) -> None:
    done = sealog("verify", store, "--key", key, "--json")
    (verdict,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert verdict["status"] == "intact", verdict


CHILDREN = """
import logging, multiprocessing as mp, os, subprocess, sys

def work(tag):
    log = logging.getLogger("child." + tag)
    for i in range(25):
        log.warning("%s record %d", tag, i)
    log.error("%s error", tag)

if __name__ == "__main__":
    logging.getLogger("parent").warning("buffered in the parent before any fork")
    for method in ("fork", "forkserver", "spawn"):
        with mp.get_context(method).Pool(2) as pool:
            pool.map(work, [method + "0", method + "1"])
    pid = os.fork()
    if pid == 0:
        work("osfork")
        os._exit(3)  # no atexit, no flush of its own: the ERROR and the rest must still arrive
    os.waitpid(pid, 0)
    subprocess.run([sys.executable, "-c", "import logging; logging.getLogger('child.sub')"
                    ".error('sub error')"], check=True)
"""


def test_records_from_every_kind_of_child_arrive_exactly_once_with_their_levels(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    key, pub = owner
    script = tmp_path / "kids.py"
    script.write_text(CHILDREN)
    profile = fast_profile(tmp_path, "production")
    done = sealog(
        "run", "--owner", pub, "--profile", profile, "--store", tmp_path / "st", "--",
        sys.executable, script,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    intact(tmp_path / "st", key)
    got = [r for r in records(tmp_path / "st", key) if r["logger"].startswith(("child", "parent"))]
    seen = collections.Counter((r["logger"], r["level"], r["message"]) for r in got)
    assert max(seen.values()) == 1, "a record arrived twice"
    for tag in ("fork0", "fork1", "forkserver0", "forkserver1", "spawn0", "spawn1", "osfork"):
        mine = [r for r in got if r["logger"] == f"child.{tag}"]
        assert [r["message"] for r in mine if r["level"] == "WARNING"] == [
            f"{tag} record {i}" for i in range(25)
        ], tag
        assert [r["message"] for r in mine if r["level"] == "ERROR"] == [f"{tag} error"], tag
    assert ("child.sub", "ERROR", "sub error") in seen
    assert sum(1 for r in got if r["logger"] == "parent") == 1
    assert not [r for r in got if r["logger"] == "stderr"]  # nothing fell back to plain text


def test_python_started_as_script_or_through_env_gets_the_handler(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    key, pub = owner
    app = tmp_path / "app.py"
    app.write_text(
        f"#!{sys.executable}\nimport logging, sys\n"
        "logging.getLogger('app').warning('started as %s', sys.argv[1])\n"
    )
    app.chmod(0o755)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for cmd in (["./app.py", "script"], ["env", "python3", "app.py", "env"]):
        done = sealog(
            "run", "--owner", pub, "--store", tmp_path / "st", "--", *cmd, cwd=tmp_path, env=env
        )
        assert done.returncode == 0, done.stderr
    got = {r["message"]: r["level"] for r in records(tmp_path / "st", key) if r["logger"] == "app"}
    assert got == {"started as script": "WARNING", "started as env": "WARNING"}


def test_stdin_is_passed_through_to_the_workload(tmp_path: Path, owner: tuple[Path, Path]) -> None:
    key, pub = owner
    done = sealog_subprocess(  # the workload reads the real standard input of `sealog run`
        "run", "--owner", pub, "--profile", "testing", "--store", tmp_path / "st", "--", "cat",
        input="line from stdin\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    got = [r["message"] for r in records(tmp_path / "st", key) if r["logger"] == "stdout"]
    assert got == ["line from stdin"]


def _start(tmp_path: Path, pub: Path, *cmd: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*SEALOG, "run", "--owner", str(pub), "--store", str(tmp_path / "st"), "--", *cmd],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigterm_as_soon_as_the_session_starts_leaves_an_intact_session(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    """The host stops the Keep at its first event: the session still ends closed and intact,
    and the host is told how it ended."""
    key, pub = owner
    proc = _start(tmp_path, pub, sys.executable, "-c", "import time; time.sleep(60)")
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert json.loads(first)["event"] == "keep.starting"
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    events = [e["event"] for e in host_events(first + rest)]
    assert events[-1] in ("keep.failed", "keep.exited")
    intact(tmp_path / "st", key)


def test_sigterm_stops_the_whole_process_group_of_the_workload(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    key, pub = owner
    pidfile = tmp_path / "bg.pid"
    script = textwrap.dedent(
        f"""
        import subprocess, sys
        bg = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        open({str(pidfile)!r}, "w").write(str(bg.pid))
        print("ready", flush=True)
        bg.wait()
        """
    )
    proc = subprocess.Popen(
        [*SEALOG, "run", "--owner", str(pub), "--profile", "development",
         "--store", str(tmp_path / "st"), "--", sys.executable, "-c", script],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"  # development echoes the workload's output
    bg = int(pidfile.read_text())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert not _alive(bg), "a background child of the workload outlived the Keep"
    intact(tmp_path / "st", key)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie waits for its reaper, not alive
