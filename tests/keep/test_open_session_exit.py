"""A service that forgets to close its session still leaves an intact, closed stream."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

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
