"""Black-box tests of ``sealog approver``, ``sealog audit`` and ``sealog order``."""

from __future__ import annotations

import json
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from clihelp import sealog


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def _fails(done: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    """One line on stderr, the given exit code, never a traceback."""
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("sealog: error: ")
    assert message in lines[0]


@dataclass
class Setup:
    folder: Path
    log: Path
    policy: Path

    def key(self, name: str) -> Path:
        return self.folder / f"{name}.key"


@pytest.fixture(scope="module")
def keys_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Approver and log keys made by ``sealog approver keygen``, shared by this module."""
    folder = tmp_path_factory.mktemp("keys")
    for name in ("alice", "bob", "logkey", "mallory"):
        _ok(sealog("approver", "keygen", folder / name))
    return folder


@pytest.fixture
def setup(tmp_path: Path, keys_folder: Path) -> Setup:
    """A control policy (alice and bob, incident needs 2 for up to 2h) and an empty log."""
    pub = {n: (keys_folder / f"{n}.pub").read_text().strip() for n in ("alice", "bob", "logkey")}
    policy = tmp_path / "control.toml"
    policy.write_text(
        f'format = 1\naudit_log_key = "{pub["logkey"]}"\n'
        f'[[approvers]]\nname = "alice"\nkey = "{pub["alice"]}"\n'
        f'[[approvers]]\nname = "bob"\nkey = "{pub["bob"]}"\n'
        '[targets.incident]\napprovals = 2\nmax_duration = "2h"\n'
    )
    out = _ok(sealog("audit", "init", tmp_path / "log", "--key", keys_folder / "logkey.key"))
    assert pub["logkey"] in out
    return Setup(keys_folder, tmp_path / "log", policy)


def _order(setup: Setup, name: str, *signers: str, keep: str = "keep-1") -> Path:
    path = setup.log.parent / name
    target = ["--all"] if keep == "*" else ["--keep", keep]
    _ok(
        sealog(
            "order", "create", *target, "--profile", "incident", "--for", "1h",
            "--reason", "outage 42", "--flight-recorder", "-o", path,
        )
    )  # fmt: skip
    for signer in signers:
        _ok(sealog("order", "sign", path, "--key", setup.key(signer)))
    return path


def test_approved_order_goes_through_log_and_check(setup: Setup) -> None:
    order = _order(setup, "order.json", "alice", "bob")
    bundle = setup.log.parent / "bundle.json"
    out = _ok(sealog("audit", "append", setup.log, order, "-o", bundle))
    assert "leaf index 0" in out
    assert "tree head: size 1" in out
    out = _ok(sealog("order", "check", bundle, "--policy", setup.policy, "--keep", "keep-1"))
    assert "order applies: Keep keep-1 -> incident" in out
    assert "approved by alice, bob" in out
    out = _ok(sealog("order", "show", bundle))
    assert "flight recorder: yes" in out
    assert "audit log leaf:  0" in out
    out = _ok(sealog("audit", "verify", setup.log))
    assert "audit log intact: 1 entries" in out
    out = _ok(sealog("audit", "show", setup.log))
    assert "keep-1" in out
    assert "outage 42" in out


def test_keygen_writes_a_private_pem_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = _ok(sealog("approver", "keygen", tmp_path / "carol"))
    key = tmp_path / "carol.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / "carol.pub").read_text().strip() in out
    before = key.read_bytes()
    _fails(sealog("approver", "keygen", tmp_path / "carol"), 2, "already exists")
    assert key.read_bytes() == before
    _ok(sealog("approver", "keygen", tmp_path / "carol", "--force"))
    assert key.read_bytes() != before


def test_order_signed_by_one_of_two_is_refused(setup: Setup) -> None:
    order = _order(setup, "order.json", "alice")
    bundle = setup.log.parent / "bundle.json"
    _ok(sealog("audit", "append", setup.log, order, "-o", bundle))
    done = sealog("order", "check", bundle, "--policy", setup.policy, "--keep", "keep-1")
    _fails(done, 1, "change order signed by 1 of 2 required approvers")


def test_order_by_an_outsider_and_one_approver_is_refused(setup: Setup) -> None:
    order = _order(setup, "order.json", "alice", "mallory")
    bundle = setup.log.parent / "bundle.json"
    _ok(sealog("audit", "append", setup.log, order, "-o", bundle))
    done = sealog("order", "check", bundle, "--policy", setup.policy, "--keep", "keep-1")
    _fails(done, 1, "signed by 1 of 2 required approvers")


def test_order_for_another_keep_is_refused(setup: Setup) -> None:
    order = _order(setup, "order.json", "alice", "bob", keep="keep-2")
    bundle = setup.log.parent / "bundle.json"
    _ok(sealog("audit", "append", setup.log, order, "-o", bundle))
    done = sealog("order", "check", bundle, "--policy", setup.policy, "--keep", "keep-1")
    _fails(done, 1, "is for Keep 'keep-2', this is Keep 'keep-1'")


def test_bundle_with_a_tampered_order_is_refused(setup: Setup) -> None:
    order = _order(setup, "order.json", "alice", "bob")
    bundle = setup.log.parent / "bundle.json"
    _ok(sealog("audit", "append", setup.log, order, "-o", bundle))
    obj = json.loads(bundle.read_text())
    obj["order"]["body"]["keep"] = "*"
    bundle.write_text(json.dumps(obj))
    done = sealog("order", "check", bundle, "--policy", setup.policy, "--keep", "keep-1")
    _fails(done, 1, "does not verify")


def test_modified_log_fails_verify_with_exit_1(setup: Setup) -> None:
    _ok(sealog("audit", "append", setup.log, _order(setup, "a.json", "alice", "bob")))
    entries = setup.log / "entries.bin"
    data = bytearray(entries.read_bytes())
    data[40] ^= 0x01
    entries.write_bytes(bytes(data))
    _fails(sealog("audit", "verify", setup.log), 1, "entry 0: leaf hash mismatch")


def test_forked_log_fails_verify_since_an_earlier_head(setup: Setup, tmp_path: Path) -> None:
    """An auditor saved the head after one order; the log is later rebuilt without it."""
    _ok(sealog("audit", "append", setup.log, _order(setup, "a.json", "alice", "bob")))
    seen = tmp_path / "seen-sth.json"
    seen.write_bytes((setup.log / "sth.json").read_bytes())
    fork = tmp_path / "fork"
    _ok(sealog("audit", "init", fork, "--key", setup.key("logkey")))
    for name in ("b.json", "c.json"):
        _ok(sealog("audit", "append", fork, _order(setup, name, "alice", "bob")))
    _ok(sealog("audit", "verify", fork))
    _fails(sealog("audit", "verify", fork, "--since", seen), 1, "forked or rewritten")
    _ok(sealog("audit", "append", setup.log, _order(setup, "d.json", "alice", "bob")))
    assert "consistent with the tree head of size 1" in _ok(
        sealog("audit", "verify", setup.log, "--since", seen)
    )


def test_unsigned_order_is_not_logged(setup: Setup) -> None:
    before = (setup.log / "sth.json").read_bytes()
    _fails(sealog("audit", "append", setup.log, _order(setup, "o.json")), 2, "no signatures")
    assert (setup.log / "sth.json").read_bytes() == before
    assert (setup.log / "entries.bin").read_bytes() == b""


def test_malformed_order_is_bad_input_and_left_untouched(setup: Setup) -> None:
    order = setup.log.parent / "order.json"
    order.write_text('{"body": {}, "signatures": []}')
    _fails(sealog("order", "sign", order, "--key", setup.key("alice")), 2, "missing key body.")
    assert order.read_text() == '{"body": {}, "signatures": []}'
    _fails(sealog("order", "show", order), 2, "order.json")


def test_signing_twice_with_one_key_is_refused(setup: Setup) -> None:
    order = _order(setup, "order.json", "alice")
    before = order.read_bytes()
    _fails(sealog("order", "sign", order, "--key", setup.key("alice")), 2, "already signed")
    assert order.read_bytes() == before


def test_signing_with_a_public_key_is_bad_input(setup: Setup) -> None:
    order = _order(setup, "order.json")
    done = sealog("order", "sign", order, "--key", setup.folder / "alice.pub")
    _fails(done, 2, "this is a public key")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--keep", "k", "--all"], "exactly one of --keep ID and --all"),
        ([], "exactly one of --keep ID and --all"),
        (["--keep", "k", "--for", "2 hours"], "--for: expected a duration"),
        (["--keep", "k", "--not-before", "yesterday"], "--not-before: expected an ISO 8601"),
        (["--keep", "k", "--not-before", "2025-01-01T00:00:00.5Z"], "whole seconds"),
        (["--keep", "bad keep"], "keep: expected a Keep id"),
    ],
)
def test_order_create_rejects_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    base: list[str | Path] = ["--profile", "incident", "--reason", "r", "-o", tmp_path / "o.json"]
    if "--for" not in args:
        base += ["--for", "1h"]
    _fails(sealog("order", "create", *args, *base), 2, message)
    assert not (tmp_path / "o.json").exists()


def test_order_create_with_explicit_window(tmp_path: Path) -> None:
    path = tmp_path / "o.json"
    _ok(
        sealog(
            "order", "create", "--all", "--profile", "incident", "--for", "15m",
            "--reason", "r", "--not-before", "2025-01-01T10:00:00+02:00", "-o", path,
        )
    )  # fmt: skip
    body = json.loads(path.read_text())["body"]
    assert (body["keep"], body["not_before"], body["not_after"]) == (
        "*", "2025-01-01T08:00:00Z", "2025-01-01T08:15:00Z",
    )  # fmt: skip
    _fails(
        sealog("order", "create", "--all", "--profile", "p", "--for", "1h", "--reason", "r",
               "-o", path),
        2,
        "already exists",
    )  # fmt: skip


def test_expired_order_is_refused(setup: Setup) -> None:
    path = setup.log.parent / "old.json"
    _ok(
        sealog(
            "order", "create", "--keep", "keep-1", "--profile", "incident", "--for", "1h",
            "--reason", "r", "--not-before", "2020-01-01T00:00:00Z", "-o", path,
        )
    )  # fmt: skip
    for signer in ("alice", "bob"):
        _ok(sealog("order", "sign", path, "--key", setup.key(signer)))
    bundle = setup.log.parent / "bundle.json"
    _ok(sealog("audit", "append", setup.log, path, "-o", bundle))
    done = sealog("order", "check", bundle, "--policy", setup.policy, "--keep", "keep-1")
    _fails(done, 1, "change order expired at 2020-01-01T01:00:00Z")


def test_bad_policy_is_bad_input_naming_the_key(setup: Setup) -> None:
    order = _order(setup, "order.json", "alice", "bob")
    bundle = setup.log.parent / "bundle.json"
    _ok(sealog("audit", "append", setup.log, order, "-o", bundle))
    setup.policy.write_text(setup.policy.read_text().replace("approvals", "aprovals"))
    done = sealog("order", "check", bundle, "--policy", setup.policy, "--keep", "keep-1")
    _fails(done, 2, "unknown key targets.incident.aprovals")


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "verify", "{tmp}/nolog"],
        ["audit", "show", "{tmp}/nolog"],
        ["audit", "append", "{tmp}/nolog", "{tmp}/none.json"],
        ["audit", "init", "{tmp}/log2", "--key", "{tmp}/none.key"],
        ["order", "show", "{tmp}/none.json"],
        ["order", "check", "{tmp}/none.json", "--policy", "{tmp}/p.toml", "--keep", "k"],
    ],
)
def test_missing_files_are_bad_input(tmp_path: Path, argv: list[str]) -> None:
    done = sealog(*[a.format(tmp=tmp_path) for a in argv])
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_audit_init_refuses_an_existing_log(setup: Setup) -> None:
    _fails(
        sealog("audit", "init", setup.log, "--key", setup.key("mallory")),
        2,
        "already holds an audit log",
    )
    _ok(sealog("audit", "verify", setup.log))


def test_audit_verify_with_the_wrong_trusted_key_fails(setup: Setup) -> None:
    done = sealog("audit", "verify", setup.log, "--log-key", setup.folder / "mallory.pub")
    _fails(done, 1, "log.pub replaced")
