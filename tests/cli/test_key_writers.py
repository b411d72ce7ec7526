"""Private-key writers never follow a planted temporary (issue: weak point 10).

An attacker who can write to the key's folder plants ``PREFIX.key.tmp`` as a symbolic link to a
file it already holds open (or as that file itself). The writer must create its temporary
fresh (``O_EXCL | O_NOFOLLOW``), so the secret never lands in the attacker's file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from inprocess import cli


@pytest.mark.parametrize(
    ("command", "key_name"),
    [(["keygen"], "owner.key"), (["approver", "keygen"], "owner.key")],
    ids=["owner-keygen", "approver-keygen"],
)
@pytest.mark.parametrize("plant", ["symlink", "open-file"])
def test_keygen_does_not_follow_a_planted_tmp_symlink(
    tmp_path: Path, command: list[str], key_name: str, plant: str
) -> None:
    loot = tmp_path / "attacker-holds-this"
    loot.write_bytes(b"")
    loot.chmod(0o666)
    tmp = tmp_path / f"{key_name}.tmp"
    if plant == "symlink":
        tmp.symlink_to(loot)
    else:
        os.link(loot, tmp)  # the same inode the attacker holds open
    with loot.open("rb") as held:
        done = cli(*command, tmp_path / "owner")
        assert done.code == 0, done.stderr
        assert held.read() == b""
    assert loot.read_bytes() == b""
    key = tmp_path / key_name
    assert not key.is_symlink()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.stat().st_ino != loot.stat().st_ino
    assert not tmp.exists()
