"""Files that are not what they claim: a FIFO, ``/dev/zero``, a 2 GiB sparse file, deep nesting.

Every file a command reads gets a regular-file check, a non-blocking open and a size cap fitting
its kind. Each case must end quickly with one line on stderr and exit 2: no hang, no traceback,
no memory spent on the file's claimed size.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from inprocess import assert_one_line_refusal, cli

from sealog.audit import AuditLog, SigningKey
from sealog.audit._keys import write_key_pair as write_approver_pair
from sealog.host._store import Store
from sealog.keep._session import SealedSession
from sealog.profile import builtin_text
from sealog.seal import Row
from sealog.seal._header import LaunchConfig
from sealog.seal._keys import generate_owner_key, write_key_pair
from sealog.seal._writer import start_session
from streams import none_evidence, plain_profile

SPARSE_SIZE = 2 << 30


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Owner and approver keys, a store with one closed session, good documents of each kind."""
    root = tmp_path_factory.mktemp("files")
    owner = generate_owner_key()
    write_key_pair(owner, root / "owner")
    write_approver_pair(SigningKey.generate(), root / "alice")
    prof = plain_profile()
    launch = LaunchConfig("test", "production", b"\x11" * 32, owner.public_key.key_id)
    header, sealer = start_session(owner.public_key, launch, none_evidence)
    sealed = SealedSession(
        sealer,
        Store.create(root / "store").new_session(header),
        prof.owner,
        prof.stream,
        start=False,
    )
    sealed.submit_shaped([Row(0.0, 30, "workload", "app", "hello", None, None, {})])
    sealed.close()
    (root / "sid").write_text(header.session_hex)
    return root


def _special(kind: str, path: Path) -> Path:
    """Make ``path`` a FIFO, a link to /dev/zero, or a 2 GiB sparse file."""
    if path.exists() or path.is_symlink():
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        with path.open("wb") as fh:
            fh.truncate(SPARSE_SIZE)
    return path


KINDS = ["fifo", "dev-zero", "sparse"]

#: (name, the file's name, the command using it); ``{f}`` is the special file.
COMMANDS: list[tuple[str, str, Callable[[Path, Path], list[str | Path]]]] = [
    ("read-key", "k.key", lambda w, f: ["read", w / "store", "--key", f]),
    ("verify-key", "k.key", lambda w, f: ["verify", w / "store", "--key", f]),
    ("run-owner", "k.pub", lambda w, f: ["run", "--owner", f, "--store", w / "new", "--", "true"]),
    (
        "run-profile",
        "p.toml",
        lambda w, f: ["run", "--owner", w / "owner.pub", "--profile", f, "--", "true"],
    ),
    (
        "run-policy",
        "policy.toml",
        lambda w, f: [
            "run",
            "--owner",
            w / "owner.pub",
            "--store",
            w / "new",
            "--control-policy",
            f,
            "--control",
            w,
            "--",
            "true",
        ],
    ),
    ("profiles-show", "p.toml", lambda w, f: ["profiles", "show", f]),
    ("order-show", "order.json", lambda w, f: ["order", "show", f]),
    ("order-sign-key", "a.key", lambda w, f: ["order", "sign", w / "order.json", "--key", f]),
    ("order-check", "b.json", lambda w, f: ["order", "check", f, "--policy", f, "--keep", "k"]),
    ("attest-inspect", "evidence.bin", lambda w, f: ["attest", "inspect", f]),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("name", "filename", "command"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_special_file_given_to_a_command_is_refused_at_once(
    world: Path,
    tmp_path: Path,
    kind: str,
    name: str,
    filename: str,
    command: Callable[[Path, Path], list[str | Path]],
) -> None:
    special = _special(kind, tmp_path / filename)
    done = cli(*command(world, special))
    assert_one_line_refusal(done)
    assert not (world / "new").exists()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("suffix", [".seal", ".index", ".events.jsonl"])
@pytest.mark.parametrize("command", ["read", "verify", "host-view"])
def test_special_file_in_a_store_does_not_hang_the_owner(
    world: Path, tmp_path: Path, kind: str, suffix: str, command: str
) -> None:
    store = tmp_path / "store"
    shutil.copytree(world / "store", store)
    sid = (world / "sid").read_text()
    _special(kind, store / f"{sid}{suffix}")
    args: list[str | Path] = [command, store]
    if command != "host-view":
        args += ["--key", world / "owner.key"]
    done = cli(*args)
    assert done.exception is None, repr(done.exception)
    if kind == "sparse" and suffix == ".seal" and command != "host-view":
        assert done.code == 1  # a regular file of zeros: read a chunk at a time, not a session
        assert "MODIFIED" in done.stdout + done.stderr
    elif kind == "sparse" or (suffix != ".seal" and command != "host-view"):
        assert done.code in (0, 1), done.stderr  # host notes: not read by the owner's commands
    else:
        assert_one_line_refusal(done, says="regular file" if kind == "fifo" else "")


@pytest.mark.parametrize(
    "args",
    [
        ["--for", "999999999d"],
        ["--for", "2h", "--not-before", "9999-12-31T23:00:00"],
    ],
    ids=["huge-duration", "window-past-9999"],
)
def test_order_window_past_the_end_of_time_is_bad_input(tmp_path: Path, args: list[str]) -> None:
    done = cli(
        "order", "create", "--keep", "k", "--profile", "incident", "--reason", "r",
        "-o", tmp_path / "o.json", *args,
    )  # fmt: skip
    assert_one_line_refusal(done)
    assert not (tmp_path / "o.json").exists()


@pytest.mark.parametrize(
    ("filename", "text", "command"),
    [
        ("deep.toml", "a = " + "[" * 50_000 + "]" * 50_000 + "\n", ["profiles", "show"]),
        ("deep.json", "[" * 200_000 + "]" * 200_000, ["order", "show"]),
        ("deep-policy.toml", "a = " + "[" * 50_000 + "]" * 50_000 + "\n", None),
    ],
)
def test_deeply_nested_document_is_bad_input(
    world: Path, tmp_path: Path, filename: str, text: str, command: list[str] | None
) -> None:
    path = tmp_path / filename
    path.write_text(text)
    if command is None:
        args: list[str | Path] = ["order", "check", world / "order.json", "--policy", path]
        args += ["--keep", "k"]
    else:
        args = [*command, path]
    assert_one_line_refusal(cli(*args))


def test_keep_id_with_newline_is_refused(world: Path) -> None:
    done = cli(
        "run", "--owner", world / "owner.pub", "--store", world / "new",
        "--keep-id", "keep\nabc INTACT: intact and closed", "--", "true",
    )  # fmt: skip
    assert_one_line_refusal(done, says="keep id")
    assert not (world / "new").exists()


def test_run_with_the_owners_private_key_is_refused(world: Path) -> None:
    done = cli(
        "run", "--owner", world / "owner.key", "--store", world / "new", "--", "true"
    )  # fmt: skip
    assert_one_line_refusal(done, says="private key")
    assert not (world / "new").exists()


def test_store_file_name_with_escapes_reaches_the_terminal_escaped(
    world: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    shutil.copytree(world / "store", store)
    (store / "x\n\x1b[32mINTACT\x1b[0m").write_text("")
    done = cli("verify", store, "--key", world / "owner.key")
    assert_one_line_refusal(done, says="foreign")
    assert "\\x1b[32mINTACT" in done.stderr


def test_profile_text_is_never_read_whole_from_a_huge_file(tmp_path: Path) -> None:
    path = _special("sparse", tmp_path / "huge.toml")
    done = cli("profiles", "show", path)
    assert_one_line_refusal(done, says="too large")
    assert builtin_text("testing")  # the built-ins still load


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["entries.bin", "index.bin", "sth.json", "log.pub"])
@pytest.mark.parametrize("command", ["show", "verify"])
def test_special_file_in_an_audit_log_does_not_hang_it(
    tmp_path: Path, kind: str, name: str, command: str
) -> None:
    """The audit log may live on the untrusted host, which can swap any of its files."""
    log = AuditLog.init(tmp_path / "log", SigningKey.generate())
    log.append(b"an entry")
    _special(kind, tmp_path / "log" / name)
    done = cli("audit", command, tmp_path / "log")
    assert done.exception is None, repr(done.exception)
    if kind == "sparse" and command == "show":
        return  # a regular file of zeros: shown for what it is, read a chunk at a time
    assert done.code in (1, 2), (done.code, done.stdout, done.stderr)
    assert len(done.stderr.splitlines()) == 1, done.stderr
