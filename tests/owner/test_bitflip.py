"""Any single bit flipped anywhere in a stored session is caught (promise 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealog.owner import verify_store
from sealog.seal._keys import OwnerPrivateKey, write_key_pair
from streams import SessionMaker


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_any_single_bit_flip_is_reported_as_modified(
    make_session: SessionMaker, owner_key: OwnerPrivateKey, position: float, bit: int
) -> None:
    # One session for every example (the fixture runs once per test): each example restores it.
    if id(make_session) not in _SESSIONS:
        store, sid = make_session(records=12, frames_every=3)
        path = store / f"{sid}.seal"
        _SESSIONS[id(make_session)] = (store, path, path.read_bytes())
    store, path, original = _SESSIONS[id(make_session)]
    flipped = bytearray(original)
    flipped[int(position * len(original))] ^= 1 << bit
    path.write_bytes(bytes(flipped))
    try:
        (verdict,) = verify_store(store, owner_key)
    finally:
        path.write_bytes(original)
    assert not verdict.ok
    assert verdict.status == "modified", verdict.message


_SESSIONS: dict[int, tuple[Path, Path, bytes]] = {}


def test_bit_flip_makes_the_command_exit_1(
    make_session: SessionMaker, owner_key: OwnerPrivateKey, tmp_path: Path
) -> None:
    store, sid = make_session()
    write_key_pair(owner_key, tmp_path / "owner")
    path = store / f"{sid}.seal"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    cmd = [
        sys.executable,
        "-m",
        "sealog",
        "verify",
        str(store),
        "--key",
        str(tmp_path / "owner.key"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "MODIFIED" in done.stdout
    assert "Traceback" not in done.stderr
