"""The folder audit log: appends, proofs, signed tree heads, and what verify() catches."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from audithelp import NOW
from hypothesis import given
from hypothesis import strategies as st

from sealog.audit import (
    AuditLog,
    SignedTreeHead,
    SigningKey,
    VerifyKey,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
    write_key_pair,
)
from sealog.errors import FormatError, VerificationError


def _log(tmp_path: Path, key: SigningKey, name: str = "log", entries: int = 0) -> AuditLog:
    log = AuditLog.init(tmp_path / name, key, clock=lambda: NOW)
    for i in range(entries):
        log.append(b"entry %d" % i)
    return log


def test_append_returns_a_proof_under_a_signed_tree_head(
    tmp_path: Path, keys: dict[str, SigningKey]
) -> None:
    log = _log(tmp_path, keys["log"])
    for i in range(9):
        index, proof, sth = log.append(b"entry %d" % i)
        assert index == i
        assert sth.size == i + 1
        assert sth.timestamp == int(NOW.timestamp() * 1000)
        sth.verify(keys["log"].public_key)
        verify_inclusion(leaf_hash(b"entry %d" % i), index, sth.size, proof, sth.root_hash)
    assert log.tree_head() == sth
    assert log.entry(3) == b"entry 3"
    assert log.verify().size == 9


def test_reopened_log_gives_the_same_proofs(tmp_path: Path, keys: dict[str, SigningKey]) -> None:
    log = _log(tmp_path, keys["log"], entries=7)
    again = AuditLog.open(tmp_path / "log")
    assert again.size == 7
    assert again.inclusion_proof(2, 5) == log.inclusion_proof(2, 5)
    old_root = root_hash(again.leaf_hashes()[:3])
    proof = again.consistency_proof(3)
    verify_consistency(3, 7, proof, old_root, again.tree_head().root_hash)


def test_empty_log_has_a_signed_head_for_the_empty_tree(
    tmp_path: Path, keys: dict[str, SigningKey]
) -> None:
    log = _log(tmp_path, keys["log"])
    sth = log.tree_head()
    assert sth.size == 0
    assert sth.root_hash == root_hash([])
    assert log.verify().size == 0


def test_init_refuses_to_overwrite_an_existing_log(
    tmp_path: Path, keys: dict[str, SigningKey]
) -> None:
    _log(tmp_path, keys["log"], entries=2)
    with pytest.raises(FormatError, match="already holds an audit log"):
        AuditLog.init(tmp_path / "log", keys["alice"])
    assert AuditLog.open(tmp_path / "log").verify().size == 2


def test_open_of_a_folder_that_is_not_a_log_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="no such audit log"):
        AuditLog.open(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match="not an audit log"):
        AuditLog.open(tmp_path / "empty")


def test_forked_log_fails_consistency_with_a_tree_head_seen_before(
    tmp_path: Path, keys: dict[str, SigningKey]
) -> None:
    """The log operator shows one history to an auditor and then rewrites an old entry."""
    honest = _log(tmp_path, keys["log"], "honest", entries=5)
    seen = honest.tree_head()
    forked = _log(tmp_path, keys["log"], "forked", entries=0)
    for i in range(7):
        forked.append(b"entry %d" % i if i != 2 else b"rewritten")
    forked.verify()  # internally consistent and properly signed...
    with pytest.raises(VerificationError, match="forked or rewritten"):
        forked.verify(since=seen)  # ...but not an extension of what the auditor saw


def test_rolled_back_log_is_detected(tmp_path: Path, keys: dict[str, SigningKey]) -> None:
    """The host restores an older copy of the log folder."""
    log = _log(tmp_path, keys["log"], entries=3)
    old_copy = _log(tmp_path, keys["log"], "copy", entries=3)
    log.append(b"entry 3")
    with pytest.raises(VerificationError, match="rolled back"):
        old_copy.verify(since=log.tree_head())


def test_extended_log_is_consistent_with_an_earlier_head(
    tmp_path: Path, keys: dict[str, SigningKey]
) -> None:
    log = _log(tmp_path, keys["log"], entries=3)
    seen = log.tree_head()
    for i in range(3, 11):
        log.append(b"entry %d" % i)
    assert log.verify(since=seen).since_size == 3
    assert log.verify(since=SignedTreeHead.from_json(seen.to_json())).size == 11


def test_modified_entry_is_detected(tmp_path: Path, keys: dict[str, SigningKey]) -> None:
    log = _log(tmp_path, keys["log"], entries=4)
    data = bytearray((tmp_path / "log" / "entries.bin").read_bytes())
    data[-1] ^= 0x01
    (tmp_path / "log" / "entries.bin").write_bytes(bytes(data))
    with pytest.raises(VerificationError, match="entry 3: leaf hash mismatch"):
        log.verify()


def test_dropped_last_entry_is_detected(tmp_path: Path, keys: dict[str, SigningKey]) -> None:
    log = _log(tmp_path, keys["log"], entries=4)
    index = tmp_path / "log" / "index.bin"
    index.write_bytes(index.read_bytes()[:-44])
    entries = tmp_path / "log" / "entries.bin"
    entries.write_bytes(entries.read_bytes()[: -(4 + len(b"entry 3"))])
    with pytest.raises(VerificationError, match="tree head covers 4 entries, the log holds 3"):
        log.verify()


def test_tree_head_signed_by_another_key_is_rejected(
    tmp_path: Path, keys: dict[str, SigningKey]
) -> None:
    log = _log(tmp_path, keys["log"], entries=2)
    sth = log.tree_head()
    forged = SignedTreeHead.sign(keys["mallory"], sth.size, sth.root_hash, sth.timestamp)
    (tmp_path / "log" / "sth.json").write_text(forged.to_json())
    with pytest.raises(VerificationError, match="not signed by audit log key"):
        log.verify()


def test_replaced_log_key_is_caught_when_the_caller_names_the_key(
    tmp_path: Path, keys: dict[str, SigningKey]
) -> None:
    """The host swaps in its own log key and re-signs everything."""
    _log(tmp_path, keys["mallory"], entries=2)
    with pytest.raises(VerificationError, match=r"log\.pub replaced"):
        AuditLog.open(tmp_path / "log").verify(log_key=keys["log"].public_key)


def test_torn_append_is_overwritten_by_the_next_append(
    tmp_path: Path, keys: dict[str, SigningKey]
) -> None:
    """A crash after writing entry bytes but before the index: the next append recovers."""
    log = _log(tmp_path, keys["log"], entries=2)
    with (tmp_path / "log" / "entries.bin").open("ab") as fh:
        fh.write(b"\x00\x00\x00\x09half")
    with pytest.raises(VerificationError, match="no index record covers"):
        log.verify()
    log.append(b"entry 2")
    assert log.verify().size == 3
    assert [e for _, e in log.entries()] == [b"entry 0", b"entry 1", b"entry 2"]


def test_empty_entry_is_refused(tmp_path: Path, keys: dict[str, SigningKey]) -> None:
    with pytest.raises(FormatError):
        _log(tmp_path, keys["log"]).append(b"")


def test_sth_json_round_trips_and_rejects_malformed_input() -> None:
    key = SigningKey.generate()
    sth = SignedTreeHead.sign(key, 5, b"\x07" * 32, 1234)
    assert SignedTreeHead.from_json(sth.to_json()) == sth
    obj = json.loads(sth.to_json())
    for broken in (
        {**obj, "size": -1},
        {**obj, "size": True},
        {**obj, "root_hash": "AAAA"},
        {**obj, "signature": "!!"},
        {**obj, "extra": 1},
        {k: v for k, v in obj.items() if k != "timestamp"},
        {**obj, "format": "sealog-sth/v2"},
    ):
        with pytest.raises(FormatError):
            SignedTreeHead.from_json(json.dumps(broken))
    with pytest.raises(FormatError):
        SignedTreeHead.from_json("not json")


@given(st.integers(0, 2**64 - 1), st.binary(min_size=32, max_size=32), st.integers(0, 2**64 - 1))
def test_any_field_change_breaks_the_tree_head_signature(
    size: int, root: bytes, timestamp: int
) -> None:
    key = SigningKey(b"\x01" * 32)
    sth = SignedTreeHead.sign(key, size, root, timestamp)
    sth.verify(key.public_key)
    for other in (
        SignedTreeHead(size ^ 1, root, timestamp, sth.signature),
        SignedTreeHead(size, bytes([root[0] ^ 1]) + root[1:], timestamp, sth.signature),
        SignedTreeHead(size, root, timestamp ^ 1, sth.signature),
    ):
        with pytest.raises(VerificationError):
            other.verify(key.public_key)


def test_key_files_are_pem_0600_and_one_line_public(tmp_path: Path) -> None:
    key = SigningKey.generate()
    key_path, pub_path = write_key_pair(key, tmp_path / "alice")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert pub_path.read_text().startswith("sealog-ed25519-pub:v1:")
    assert SigningKey.load(key_path) == key
    assert VerifyKey.load(pub_path) == key.public_key
    assert len(key.key_id) == 16
    assert "raw" not in repr(key)
    with pytest.raises(FormatError, match="already exists"):
        write_key_pair(SigningKey.generate(), tmp_path / "alice")
    assert SigningKey.load(key_path) == key
    write_key_pair(SigningKey.generate(), tmp_path / "alice", force=True)
    assert SigningKey.load(key_path) != key


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not an unencrypted PEM private key"),
        (b"sealog-ed25519-pub:v1:AAAA", "this is a public key"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "PEM"),
    ],
)
def test_malformed_private_key_files_are_bad_input(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=message):
        SigningKey.load(path)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sealog-ed25519-pub:v1:",
        "sealog-ed25519-pub:v1:not base64!",
        "sealog-ed25519-pub:v1:AAAA",
        "sealog-owner-pub:v1:x25519:" + "A" * 44,
    ],
)
def test_malformed_public_keys_are_bad_input(text: str) -> None:
    with pytest.raises(FormatError):
        VerifyKey.from_text(text)
