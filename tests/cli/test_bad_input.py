"""Bad input anywhere: one line on stderr naming the file and the problem, exit 2, no traceback,
and nothing already stored is changed (DESIGN.md section 9).

Every case hashes every file under the test's folder before and after the command.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from pathlib import Path

import pytest
from clihelp import fast_profile, sealog

from sealog.profile import builtin_text


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with an owner key pair and a store holding one closed session."""
    root = tmp_path_factory.mktemp("bad")
    assert sealog("keygen", root / "owner").returncode == 0
    script = root / "w.py"
    script.write_text("import logging\nlogging.getLogger('app').warning('hello')\n")
    done = sealog(
        "run",
        "--owner",
        root / "owner.pub",
        "--profile",
        fast_profile(root, "testing"),
        "--store",
        root / "store",
        "--",
        sys.executable,
        script,
    )
    assert done.returncode == 0, done.stderr
    return root


def snapshot(root: Path) -> dict[str, str]:
    """A hash of every file under ``root`` (and the folders, so a new empty one shows)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[rel] = "folder"
    return out


def refused(root: Path, *args: str | Path, names: str, problem: str) -> None:
    """Run ``sealog ARGS`` and check it is refused as bad input, changing nothing."""
    before = snapshot(root)
    done = sealog(*args, cwd=root)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("sealog: error: "), lines[0]
    assert names in lines[0], lines[0]
    assert problem in lines[0], lines[0]
    assert snapshot(root) == before


# -- stores --------------------------------------------------------------------------------------

OWNER_COMMANDS = [
    ["read", "{store}", "--key", "owner.key"],
    ["verify", "{store}", "--key", "owner.key", "--json"],
]


def _cmd(template: list[str], store: Path) -> list[str]:
    return [str(store) if a == "{store}" else a for a in template]


@pytest.mark.parametrize("cmd", [*OWNER_COMMANDS, ["host-view", "{store}"]])
def test_missing_store_is_refused(world: Path, cmd: list[str]) -> None:
    refused(world, *_cmd(cmd, world / "no-such-store"), names="no-such-store", problem="no such")


@pytest.mark.parametrize("cmd", [*OWNER_COMMANDS, ["host-view", "{store}"]])
def test_a_file_given_as_the_store_is_refused(world: Path, cmd: list[str]) -> None:
    refused(world, *_cmd(cmd, world / "w.py"), names="w.py", problem="not a folder")


@pytest.mark.parametrize("cmd", [*OWNER_COMMANDS, ["host-view", "{store}"]])
def test_an_empty_folder_is_not_a_store(world: Path, cmd: list[str]) -> None:
    (world / "empty").mkdir(exist_ok=True)
    refused(world, *_cmd(cmd, world / "empty"), names="empty", problem="not a sealog store")


def test_a_folder_of_other_files_is_not_a_store(world: Path) -> None:
    other = world / "photos"
    other.mkdir(exist_ok=True)
    (other / "cat.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    for cmd in OWNER_COMMANDS:
        refused(world, *_cmd(cmd, other), names="photos", problem="not a sealog store")


def test_a_store_marker_with_wrong_content_is_not_a_store(world: Path) -> None:
    fake = world / "fake"
    fake.mkdir(exist_ok=True)
    (fake / "sealog-store").write_text("sealog store v999\n")
    refused(world, *_cmd(OWNER_COMMANDS[1], fake), names="fake", problem="not a sealog store")


@pytest.mark.parametrize("cmd", OWNER_COMMANDS)
def test_a_store_without_sessions_is_refused(world: Path, cmd: list[str]) -> None:
    bare = world / "bare"
    bare.mkdir(exist_ok=True)
    (bare / "sealog-store").write_text("sealog store v1\n")
    refused(world, *_cmd(cmd, bare), names="bare", problem="no sessions")


@pytest.mark.parametrize("cmd", OWNER_COMMANDS)
def test_a_foreign_file_in_the_store_is_refused(
    tmp_path: Path, world: Path, cmd: list[str]
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    for p in (world / "store").iterdir():
        (store / p.name).write_bytes(p.read_bytes())
    (store / "notes.txt").write_text("the host left this here\n")
    (tmp_path / "owner.key").write_bytes((world / "owner.key").read_bytes())
    refused(tmp_path, *_cmd(cmd, store), names="notes.txt", problem="foreign")


# -- keys ----------------------------------------------------------------------------------------


def _key_case(world: Path, name: str, content: bytes | None) -> Path:
    path = world / name
    if content is not None:
        path.write_bytes(content)
    return path


def _raw(world: Path, which: str) -> bytes:
    return base64.b64decode((world / which).read_text().strip().split(":")[3])


@pytest.mark.parametrize("command", ["read", "verify"])
@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("garbage.key", b"hello, I am not a key\n", "not a sealog key file"),
        ("empty.key", b"", "not a sealog key file"),
        ("binary.key", bytes(range(256)), "binary"),
        ("missing.key", None, "no such file"),
        ("bad64.key", b"sealog-owner-key:v1:x25519:@@@not base64@@@\n", "base64"),
        ("kem.key", b"sealog-owner-key:v1:rsa2048:AAAA\n", "unknown KEM"),
    ],
)
def test_unusable_key_file_is_refused(
    world: Path, command: str, name: str, content: bytes | None, problem: str
) -> None:
    path = _key_case(world, name, content)
    refused(world, command, world / "store", "--key", path, names=name, problem=problem)


def test_public_key_given_as_private_key_is_refused_with_one_line(world: Path) -> None:
    for command in ("read", "verify"):
        refused(
            world,
            command,
            world / "store",
            "--key",
            world / "owner.pub",
            names="owner.pub",
            problem="public key",
        )


def test_private_key_labelled_with_the_other_kem_is_refused(world: Path) -> None:
    """An X25519 key relabelled as the hybrid KEM (or the reverse) must not be guessed at."""
    raw = _raw(world, "owner.key")
    fake = f"sealog-owner-key:v1:mlkem768-x25519:{base64.b64encode(raw).decode()}\n"
    path = _key_case(world, "relabelled.key", fake.encode())
    refused(world, "verify", world / "store", "--key", path, names="relabelled.key", problem="96")


def test_hybrid_sized_key_labelled_x25519_is_refused(world: Path) -> None:
    raw = bytes(96)
    fake = f"sealog-owner-key:v1:x25519:{base64.b64encode(raw).decode()}\n"
    path = _key_case(world, "hybrid-as-x.key", fake.encode())
    refused(world, "read", world / "store", "--key", path, names="hybrid-as-x.key", problem="32")


def test_a_folder_given_as_the_key_is_refused(world: Path) -> None:
    refused(
        world, "read", world / "store", "--key", world / "store", names="store", problem="folder"
    )


def test_malformed_owner_public_key_is_refused_before_a_store_is_created(world: Path) -> None:
    """``run --owner`` with a public key of the wrong length: no store, no workload."""
    path = _key_case(world, "junk.pub", b"sealog-owner-pub:v1:x25519:AAAA\n")
    refused(
        world,
        "run",
        "--owner",
        path,
        "--store",
        world / "new-store",
        "--",
        "true",
        names="junk.pub",
        problem="expected 32",
    )


# -- profiles ------------------------------------------------------------------------------------


def _profile_variant(world: Path, name: str, old: str, new: str) -> Path:
    text = builtin_text("testing")
    assert old in text
    path = world / name
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("name", "old", "new", "problem"),
    [
        ("unknown-key.toml", "trace = true", "trace = true\ntrase = true", "trase"),
        ("typo-in-table.toml", "rate_limit = 0 ", "rate_limt = 0 ", "rate_limt"),
        ("wrong-type.toml", "flush_interval = 0.5", 'flush_interval = "fast"', "flush_interval"),
        ("bool-as-string.toml", "padding = false", 'padding = "no"', "padding"),
        ("bad-level.toml", 'min_level = "DEBUG"', 'min_level = "VERBOSE"', "VERBOSE"),
        ("not-toml.toml", "format = 1", "format = = 1", "not-toml.toml"),
    ],
)
def test_malformed_profile_file_is_refused_before_the_workload_starts(
    world: Path, name: str, old: str, new: str, problem: str
) -> None:
    path = _profile_variant(world, name, old, new)
    marker = world / "started"
    refused(
        world,
        "run",
        "--owner",
        world / "owner.pub",
        "--profile",
        path,
        "--store",
        world / "store",
        "--",
        "touch",
        marker,
        names=name,
        problem=problem,
    )
    assert not marker.exists()


# -- options -------------------------------------------------------------------------------------


def test_unknown_level_is_refused(world: Path) -> None:
    refused(
        world,
        "read",
        world / "store",
        "--key",
        world / "owner.key",
        "--level",
        "VERBOSE",
        names="VERBOSE",
        problem="unknown level",
    )


def test_session_prefix_matching_nothing_is_refused(world: Path) -> None:
    for command in ("read", "verify"):
        refused(
            world,
            command,
            world / "store",
            "--key",
            world / "owner.key",
            "--session",
            "zzzz",
            names="zzzz",
            problem="no session",
        )
