"""Leak canaries: outside development, nothing the workload says reaches the host in clear
(promise 1), and under cover traffic the host's view keeps its rhythm (promise 6)."""

from __future__ import annotations

import base64
import json
import sys
import textwrap
from pathlib import Path

import pytest
from clihelp import fast_profile, sealog

CANARIES = ["CANARY-SECRET-7f3a", "CANARY-PLAIN-91bc", "CANARY-STDOUT-0d2e", "CANARY-EXC-55aa"]

WORKLOAD = textwrap.dedent(
    """
    import logging, sys, sealog
    log = logging.getLogger("app")
    token = sealog.secret("CANARY-SECRET-7f3a")
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        log.log(level, "user %s token %s", "CANARY-PLAIN-91bc", token, extra={"who": token})
    print("stdout says CANARY-STDOUT-0d2e", flush=True)
    print("stderr says CANARY-STDOUT-0d2e", file=sys.stderr, flush=True)
    try:
        raise ValueError("CANARY-EXC-55aa")
    except ValueError:
        log.exception("failed with %s", token)
    raise SystemExit("CANARY-EXC-55aa")
    """
)


def encodings(text: str) -> list[bytes]:
    raw = text.encode()
    return [
        raw,
        raw.hex().encode(),
        raw.hex().upper().encode(),
        base64.b64encode(raw),
        base64.b64encode(raw)[:-4],  # base64 at another alignment still shares a prefix
        text.encode("utf-16-le"),
        text.encode("utf-16-be"),
        json.dumps(text).encode(),
    ]


@pytest.mark.parametrize("profile", ["testing", "staging", "production", "incident"])
def test_canaries_never_reach_any_host_byte(
    tmp_path: Path, owner: tuple[Path, Path], profile: str
) -> None:
    key, pub = owner
    script = tmp_path / "w.py"
    script.write_text(WORKLOAD)
    store = tmp_path / "st"
    prof = fast_profile(tmp_path, profile)
    done = sealog(
        "run", "--owner", pub, "--profile", prof, "--store", store, "--", sys.executable, script
    )
    assert done.returncode == 1
    view = sealog("host-view", store)
    view_json = sealog("host-view", store, "--json")
    host_bytes = [
        done.stdout.encode(),
        done.stderr.encode(),
        view.stdout.encode(),
        view_json.stdout.encode(),
    ]
    host_bytes += [p.read_bytes() for p in store.iterdir()]
    for canary in CANARIES:
        for form in encodings(canary):
            for blob in host_bytes:
                assert form not in blob, (canary, form)
    # The owner does get the unmarked canary (so the test can fail): the secret never.
    read = sealog("read", store, "--key", key, "--json")
    assert "CANARY-PLAIN-91bc" in read.stdout
    assert "CANARY-SECRET-7f3a" not in read.stdout


def test_development_reveals_secrets_to_the_owner_and_host(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    key, pub = owner
    script = tmp_path / "w.py"
    script.write_text(WORKLOAD)
    done = sealog(
        "run",
        "--owner",
        pub,
        "--profile",
        "development",
        "--store",
        tmp_path / "st",
        "--",
        sys.executable,
        script,
    )
    assert "CANARY-STDOUT-0d2e" in done.stdout
    read = sealog("read", tmp_path / "st", "--key", key, "--json")
    assert "CANARY-SECRET-7f3a" in read.stdout


CHATTY = textwrap.dedent(
    """
    import logging, time, sys
    log = logging.getLogger("app")
    end = time.monotonic() + float(sys.argv[1])
    i = 0
    while time.monotonic() < end:
        level = logging.ERROR if i % 50 == 0 else logging.WARNING
        log.log(level, "burst %d %s", i, "x" * (i % 300))
        i += 1
        if i % 200 == 0:
            time.sleep(0.01)
    """
)
QUIET = "import sys, time; time.sleep(float(sys.argv[1]))\n"


def _series(store: Path) -> tuple[list[int], list[float]]:
    (line,) = sealog("host-view", store, "--json").stdout.splitlines()
    session = json.loads(line)
    return session["frame_sizes"], session["times"]


def test_quiet_and_chatty_workloads_look_the_same_to_the_host(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    """End to end, every frame of a quiet and a chatty run has one size. (That the number of
    frames depends only on the number of ticks is shown exactly, tick by tick, in
    tests/keep/test_cover_rhythm.py; the emission timing is measured by ``make bench``.)"""
    _, pub = owner
    prof = fast_profile(tmp_path, "production", 0.1)
    sizes = set()
    for name, code in (("quiet", QUIET), ("chatty", CHATTY)):
        script = tmp_path / f"{name}.py"
        script.write_text(code)
        store = tmp_path / name
        done = sealog(
            "run", "--owner", pub, "--profile", prof, "--store", store, "--",
            sys.executable, script, "1.0",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        frame_sizes, _ = _series(store)
        assert len(frame_sizes) > 10
        sizes |= set(frame_sizes)
    assert len(sizes) == 1
