"""Every host rule applies, in-process and under ``sealog run`` alike (DESIGN.md promise 1).

Under ``events+codes`` the host gets a generic code per error record, at most ``rate_limit`` a
second; what the limit holds back is counted in the sealed stream, never on the host channel
(the exact number of errors is what the limit must not leak). Under ``events`` the host gets no
record-driven event at all, whatever the level.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from clihelp import host_events, sealog

import sealog as sealog_api
from sealog.owner import OwnerPrivateKey, read_store

BURST = textwrap.dedent(
    """
    import logging
    log = logging.getLogger("app")
    for i in range(500):
        log.error("payment %d failed", i)
    log.log(99, "custom level far above ERROR")
    """
)


def _sealed_fields(store: Path, key: Path) -> list[dict[str, Any]]:
    owner = OwnerPrivateKey.load(key)
    return [dict(r.fields) for _, r in read_store(store, owner)]


def test_error_line_from_any_program_gives_the_host_a_generic_code(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    _, pub = owner
    done = sealog(
        "run", "--owner", pub, "--profile", "staging", "--store", tmp_path / "st", "--",
        "bash", "-c", "echo 'INFO starting'; echo 'ERROR: database unreachable' >&2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    codes = [e for e in host_events(done.stderr) if e["event"] == "keep.error"]
    assert [e["code"] for e in codes] == ["workload.error"]
    assert "database" not in done.stderr


def test_500_errors_give_the_host_at_most_the_rate_limit(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    key, pub = owner
    script = tmp_path / "burst.py"
    script.write_text(BURST)
    store = tmp_path / "st"
    done = sealog(
        "run", "--owner", pub, "--profile", "staging", "--store", store, "--",
        sys.executable, script,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    codes = [e for e in host_events(done.stderr) if e["event"] == "keep.error"]
    # A bucket of one second at 10 per second: the burst takes well under a second.
    assert 1 <= len(codes) <= 11
    held = sum(f.get("host_held_back", 0) for f in _sealed_fields(store, key))
    assert held + len(codes) == 501  # the 500 errors and the custom level, each accounted for


def test_no_record_gives_the_host_an_event_under_production(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    _, pub = owner
    script = tmp_path / "burst.py"
    script.write_text(BURST)
    done = sealog(
        "run", "--owner", pub, "--profile", "production", "--store", tmp_path / "st", "--",
        sys.executable, script,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {e["event"] for e in host_events(done.stderr)} <= {
        "keep.starting", "keep.ready", "keep.exited", "keep.closed",
    }  # fmt: skip


@pytest.mark.parametrize(("profile", "most"), [("staging", 11), ("production", 0)])
def test_in_process_sessions_apply_the_same_host_rules(
    tmp_path: Path, owner: tuple[Path, Path], profile: str, most: int
) -> None:
    key, pub = owner
    out = io.StringIO()
    log = logging.getLogger(f"inproc.{profile}")
    log.propagate = False
    with sealog_api.open_session(
        pub, store=tmp_path / "st", profile=profile, logger=log, host_stream=out
    ) as session:
        for i in range(500):
            log.error("payment %d failed", i)
        session.flush()
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    codes = [e for e in events if e["event"] == "keep.error"]
    assert len(codes) <= most
    if profile == "staging":
        held = sum(f.get("host_held_back", 0) for f in _sealed_fields(tmp_path / "st", key))
        assert held + len(codes) == 500
