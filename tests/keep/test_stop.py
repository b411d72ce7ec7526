"""Stopping a Keep: a stop before the workload starts, and a workload that ignores SIGTERM.

In-process runs of the runtime (``run_workload``) with real workloads and real signals sent to
this process, which the runtime handles for the length of the run.
"""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from sealog.host import Store
from sealog.keep._runtime import RunResult, run_workload
from sealog.owner import verify_store
from sealog.profile import builtin_profile
from sealog.seal import OwnerPrivateKey
from sealog.seal._writer import start_profile_session
from streams import none_evidence


def _run(
    tmp_path: Path, key: OwnerPrivateKey, cmd: list[str], **kw: object
) -> tuple[RunResult, list[dict[str, Any]], Path]:
    profile = builtin_profile("testing")
    store = Store.create(tmp_path / "store")
    host = io.StringIO()
    hook = kw.pop("during_start", None)

    def start(attester):  # type: ignore[no-untyped-def]
        if hook is not None:
            hook()  # type: ignore[operator]
        return start_profile_session(key.public_key, profile, attester)

    result = run_workload(
        cmd,
        profile=profile,
        profile_ref="testing",
        start=start,
        sink_for=store.new_session,
        attester=none_evidence,
        host_stream=host,
        **kw,  # type: ignore[arg-type]
    )
    events = [json.loads(line) for line in host.getvalue().splitlines()]
    return result, events, tmp_path / "store"


def test_sigterm_while_the_session_starts_never_starts_the_workload(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    marker = tmp_path / "started"
    result, events, store = _run(
        tmp_path,
        owner_key,
        ["touch", str(marker)],
        during_start=lambda: os.kill(os.getpid(), signal.SIGTERM),
    )
    assert result.exit_code == 128 + signal.SIGTERM
    assert not marker.exists()
    assert events[-1]["event"] == "keep.failed"
    assert events[-1]["code"] == "workload.not_started"
    (verdict,) = verify_store(store, owner_key)
    assert verdict.ok, verdict.message


def test_workload_ignoring_sigterm_is_killed_after_the_grace_period(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    ready = tmp_path / "ready"
    script = f"trap '' TERM; touch {ready}; sleep 30"

    def stop_when_ready() -> None:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.01)  # waiting for a real process, not for a clock
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_when_ready, daemon=True).start()
    result, events, store = _run(tmp_path, owner_key, ["sh", "-c", script], stop_grace=0.3)
    assert result.exit_code == 128 + signal.SIGKILL  # not its 30 s sleep: killed after 0.3 s
    assert events[-1]["event"] == "keep.failed"
    assert events[-1]["code"] == "workload.killed"
    (verdict,) = verify_store(store, owner_key)
    assert verdict.ok, verdict.message


def test_an_exited_unreaped_process_does_not_count_as_alive_in_its_group() -> None:
    """strace's detached tracer ends as a zombie that init reaps later: the end of a session
    must not wait for that (it made every traced run of a short program a second longer)."""
    import os
    import subprocess

    from sealog.keep._stop import _group_alive, stop_group

    proc = subprocess.Popen(["true"], start_new_session=True)
    # Wait until it has exited, without reaping it: a zombie in its own group.
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    os.killpg(proc.pid, 0)  # the kernel still counts it as a member...
    assert not _group_alive(proc.pid)  # ...but nothing runs there
    stop_group(proc.pid, grace=30.0)  # returns at once instead of polling for the grace period
    assert proc.wait() == 0


def test_a_running_process_keeps_its_group_alive() -> None:
    import subprocess

    from sealog.keep._stop import _group_alive

    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert _group_alive(proc.pid)
    finally:
        proc.kill()
        proc.wait()
