"""A service that forgets to close its session still leaves an intact, closed stream."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import sealog
from sealog.owner import read_store, verify_store
from sealog.seal._keys import OwnerPrivateKey, write_key_pair


def test_session_left_open_is_closed_at_interpreter_exit(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    write_key_pair(owner_key, tmp_path / "owner")
    script = tmp_path / "service.py"
    script.write_text(
        textwrap.dedent(
            """
            import io, logging, sys, sealog
            sealog.open_session(sys.argv[1], sys.argv[2], "testing", host_stream=io.StringIO())
            logging.getLogger("svc").info("logged, never closed explicitly")
            """
        )
    )
    store = tmp_path / "store"
    subprocess.run(
        [sys.executable, str(script), str(tmp_path / "owner.pub"), str(store)], check=True
    )
    (verdict,) = verify_store(store, owner_key)
    assert verdict.status == "intact"
    messages = [r.message for _, r in read_store(store, owner_key)]
    assert "logged, never closed explicitly" in messages


def test_exception_ending_the_session_block_is_sealed_with_its_traceback(
    tmp_path: Path, owner_key: OwnerPrivateKey
) -> None:
    write_key_pair(owner_key, tmp_path / "owner")
    store = tmp_path / "store"
    with (
        pytest.raises(ZeroDivisionError),
        sealog.open_session(
            tmp_path / "owner.pub", store, "testing", logger=None, host_stream=io.StringIO()
        ),
    ):
        1 / 0  # noqa: B018 - the failure that ends the block
    (verdict,) = verify_store(store, owner_key)
    assert verdict.status == "intact"
    records = [r for _, r in read_store(store, owner_key)]
    uncaught = next(r for r in records if r.logger == "sealog.uncaught")
    assert uncaught.message == "uncaught ZeroDivisionError"
    assert uncaught.level == logging.CRITICAL
    assert uncaught.exception is not None
    assert uncaught.exception.type == "ZeroDivisionError"
    assert uncaught.exception.frames[-1][2].startswith("test_exception_ending_the_session")
