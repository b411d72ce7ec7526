"""Names the host or a launcher chose never reach the owner's terminal raw (weak point 11)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519
from inprocess import cli

from sealog.host._store import Store
from sealog.seal import Row
from sealog.seal._frames import FrameSealer
from sealog.seal._header import Header, LaunchConfig
from sealog.seal._keys import generate_owner_key, write_key_pair
from sealog.seal._records import encode_batch
from streams import none_evidence

FORGED = "keep\nffffffffffffffffffffffffffffffff \x1b[32mINTACT\x1b[0m: intact and closed"


def _fabricated_session(root: Path) -> Path:
    """What a host holding only ``owner.pub`` can write: a session with a hostile keep id."""
    owner = generate_owner_key()
    write_key_pair(owner, root / "owner")
    launch = LaunchConfig("production", "production", b"\x11" * 32, owner.public_key.key_id)
    signing = ed25519.Ed25519PrivateKey.generate()
    root_secret = os.urandom(32)
    header = Header(
        session_id=os.urandom(16),
        keep_id=FORGED,
        created=0.0,
        launch=launch,
        kem=owner.kem,
        enc=b"",
        verify_key=signing.public_key().public_bytes_raw(),
        epoch_frames=64,
    )
    header = dataclasses.replace(header, enc=owner.public_key.seal(root_secret, header.hpke_info))
    header = dataclasses.replace(header, evidence=none_evidence(header.expected_report_data()))
    sink = Store.create(root / "store").new_session(header)
    sealer = FrameSealer(header, root_secret, signing)
    row = Row(0.0, 20, "sealog", "sealog.session", "session closed\n\x1b[2J", None, None, {})
    sink.write_frame(sealer.seal(encode_batch([row]), close=True))
    sink.close()
    return root / "store"


def test_keep_id_with_newline_cannot_forge_a_verdict_line(tmp_path: Path) -> None:
    store = _fabricated_session(tmp_path)
    done = cli("verify", store, "--key", tmp_path / "owner.key")
    assert done.exception is None
    assert done.code == 0  # well formed; what it proves is another matter (weak point 7)
    assert len(done.stdout.splitlines()) == 1, done.stdout
    assert "\x1b" not in done.stdout
    assert "keep\\nffff" in done.stdout


def test_record_with_escapes_is_printed_on_one_line(tmp_path: Path) -> None:
    store = _fabricated_session(tmp_path)
    done = cli("read", store, "--key", tmp_path / "owner.key")
    assert done.exception is None
    assert "\x1b" not in done.stdout
    assert "session closed\\n\\x1b[2J" in done.stdout
