"""State stolen from a Keep at epoch k neither opens nor forges earlier frames (promise 4)."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519

from sealog.errors import DecryptionError
from sealog.owner import verify_store
from sealog.seal._container import MAGIC, encode_entry
from sealog.seal._frames import FrameOpener, FrameSealer, KeySchedule, parse_frame_header
from sealog.seal._header import LaunchConfig
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._writer import start_session
from streams import none_evidence

EPOCH_FRAMES = 2


def _sealed_frames(owner_key: OwnerPrivateKey, n: int):
    launch = LaunchConfig("test", "production", b"\x00" * 32, owner_key.public_key.key_id)
    header, sealer = start_session(
        owner_key.public_key, launch, none_evidence, epoch_frames=EPOCH_FRAMES
    )
    frames = [sealer.seal(f"frame {i}".encode()) for i in range(n)]
    return header, sealer, frames


def test_seized_key_state_cannot_open_frames_of_earlier_epochs(owner_key) -> None:
    _header, sealer, frames = _sealed_frames(owner_key, 7)  # epochs 0, 0, 1, 1, 2, 2, 3
    epoch, chain_key = sealer.export_key_state()
    assert epoch == 3
    stolen = KeySchedule.from_state(epoch, chain_key)
    # The schedule refuses to go back...
    with pytest.raises(DecryptionError):
        stolen.aead(0)
    # ...and the key it does hold opens no earlier frame, whatever associated data is tried.
    aead = stolen.aead(epoch)
    for payload in frames[: 2 * epoch]:
        seq, _ = parse_frame_header(payload)
        with pytest.raises(InvalidTag):
            aead.decrypt(seq.to_bytes(12, "big"), payload[12:], None)


def test_seized_key_state_cannot_reseal_an_earlier_frame(owner_key, tmp_path) -> None:
    """The attacker re-seals frame 0 with the key of the current epoch: verify catches it."""
    header, sealer, frames = _sealed_frames(owner_key, 5)
    epoch, chain_key = sealer.export_key_state()
    stolen = KeySchedule.from_state(epoch, chain_key).aead(epoch)
    forged_plain = b"\x00\x01" + (9).to_bytes(4, "big") + b"forgery!!" + bytes(64)
    forged = frames[0][:12] + stolen.encrypt((0).to_bytes(12, "big"), forged_plain, None)
    store = tmp_path / "store"
    store.mkdir()
    (store / "sealog-store").write_text("sealog store v1\n")
    entries = [header.to_bytes(), forged, *frames[1:]]
    (store / f"{header.session_hex}.seal").write_bytes(
        MAGIC + b"".join(encode_entry(e) for e in entries)
    )
    (verdict,) = verify_store(store, owner_key)
    assert verdict.status == "modified"
    assert verdict.at_seq == 0


def test_owner_opens_every_epoch_in_order(owner_key) -> None:
    header, _, frames = _sealed_frames(owner_key, 7)
    root = owner_key.open(header.enc, header.hpke_info)
    opener = FrameOpener(header, root)
    assert [opener.open(p).data for p in frames] == [f"frame {i}".encode() for i in range(7)]


def test_ratchet_erases_the_previous_chain_key(owner_key) -> None:
    """The schedule keeps one chain key, overwritten in place: no copy of the old one is left
    in the object an attacker would dump."""
    launch = LaunchConfig("test", "production", b"\x00" * 32, owner_key.public_key.key_id)
    header, _ = start_session(owner_key.public_key, launch, none_evidence, epoch_frames=1)
    sealer = FrameSealer(header, b"r" * 32, ed25519.Ed25519PrivateKey.generate())
    _, before = sealer.export_key_state()
    sealer.seal(b"a")
    sealer.seal(b"b")
    _, after = sealer.export_key_state()
    assert before != after
    held = [bytes(v) for v in vars(sealer._keys).values() if isinstance(v, bytes | bytearray)]
    assert held == [after]
