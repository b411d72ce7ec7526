"""``sealog view nats://...``: the owner's viewer over a JetStream stream, as over a folder."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

from clihelp import SEALOG
from natshelp import Cli, Cluster

from streams import SessionMaker


def test_view_serves_the_sessions_a_relay_shipped_to_jetstream(
    nats: Cluster,
    make_session: SessionMaker,
    owner_files: tuple[Path, Path],
    tmp_path: Path,
    cli: Cli,
) -> None:
    store, sid = make_session(records=6)
    source = nats.source()
    code, _, err = cli("relay", store, "--to", source, "--once")
    assert code == 0, err
    key, _ = owner_files
    proc = subprocess.Popen(
        [*SEALOG, "view", source, "--key", str(key), "--no-follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(" at ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:")
        session = url.replace("/?", f"/session/{sid}?")
        with urllib.request.urlopen(session, timeout=20) as response:  # noqa: S310 - 127.0.0.1
            page = response.read().decode()
        assert "intact" in page
        assert "record 5 of the test" in page
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
