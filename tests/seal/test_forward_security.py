"""State stolen from a Keep at frame t neither opens nor rewrites what was sealed before t.

DESIGN.md section 2, promise 4. Frame keys evolve per frame and the signing key per epoch; the
thief below seizes everything a sealer holds (:meth:`FrameSealer.export_state`) and tries.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519

from sealog.errors import DecryptionError
from sealog.owner import verify_store
from sealog.seal import Row
from sealog.seal._container import MAGIC, encode_entry
from sealog.seal._frames import (
    FrameOpener,
    FrameSealer,
    KeySchedule,
    SealerState,
    chain_next,
    parse_frame_header,
)
from sealog.seal._header import Header, LaunchConfig
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._records import encode_batch
from sealog.seal._writer import start_session
from streams import none_evidence

EPOCH_FRAMES = 64


def _row(text: str) -> Row:
    return Row(0.0, 20, "workload", "app", text, None, None, {})


def _session(owner_key: OwnerPrivateKey, n: int) -> tuple[Header, FrameSealer, list[bytes]]:
    launch = LaunchConfig("test", "production", b"\x00" * 32, owner_key.public_key.key_id)
    header, sealer = start_session(
        owner_key.public_key, launch, none_evidence, epoch_frames=EPOCH_FRAMES
    )
    frames = [sealer.seal(encode_batch([_row(f"payment {i} OK")])) for i in range(n)]
    return header, sealer, frames


def _store(tmp_path: Path, header: Header, frames: list[bytes]) -> Path:
    store = tmp_path / "store"
    store.mkdir(exist_ok=True)
    (store / "sealog-store").write_text("sealog store v1\n")
    entries = [header.to_bytes(), *frames]
    (store / f"{header.session_hex}.seal").write_bytes(
        MAGIC + b"".join(encode_entry(e) for e in entries)
    )
    return store


def _chain_before(header: Header, frames: list[bytes], seq: int) -> bytes:
    """``D(seq-1)``: public, anyone holding the stream computes it."""
    chain = header.digest
    for payload in frames[:seq]:
        chain = chain_next(chain, payload)
    return chain


def test_thief_at_frame_79_cannot_open_or_rewrite_earlier_frames(
    owner_key: OwnerPrivateKey, tmp_path: Path
) -> None:
    header, sealer, frames = _session(owner_key, 79)  # frames 0..78 sealed; 64..78 in epoch 1
    stolen = sealer.export_state()
    assert stolen.seq == 79
    # The key schedule refuses to go back, and the one key it can still derive opens nothing
    # sealed before the theft, not even frames of the current epoch.
    schedule = KeySchedule.from_state(stolen.seq, stolen.chain_key)
    with pytest.raises(DecryptionError):
        schedule.aead(70)
    aead = schedule.aead(79)
    for payload in frames[EPOCH_FRAMES:]:
        seq, _ = parse_frame_header(payload)
        with pytest.raises(InvalidTag):
            aead.decrypt(seq.to_bytes(12, "big"), payload[12:], None)
    # Rewriting frames 64..78 with the stolen keys, then closing: verify names it.
    rewound = SealerState(
        seq=EPOCH_FRAMES,
        chain=_chain_before(header, frames, EPOCH_FRAMES),
        chain_key=stolen.chain_key,
        key_epoch=stolen.key_epoch,
        signing_key=stolen.signing_key,
        closed=False,
    )
    forger = FrameSealer.from_state(header, rewound)
    forged = [forger.seal(encode_batch([_row(f"payment {i} FAILED")])) for i in range(15)]
    forged.append(forger.seal(b"", close=True))
    store = _store(tmp_path, header, frames[:EPOCH_FRAMES] + forged)
    (verdict,) = verify_store(store, owner_key)
    assert (verdict.status, verdict.at_seq) == ("modified", EPOCH_FRAMES)


def test_thief_cannot_close_the_stream_before_the_theft_point(
    owner_key: OwnerPrivateKey, tmp_path: Path
) -> None:
    """Cutting frames 70..78 and closing at 70 with the stolen state is not an intact stream."""
    header, sealer, frames = _session(owner_key, 79)
    stolen = sealer.export_state()
    rewound = SealerState(
        seq=70,
        chain=_chain_before(header, frames, 70),
        chain_key=stolen.chain_key,
        key_epoch=stolen.key_epoch,
        signing_key=stolen.signing_key,
        closed=False,
    )
    closing = FrameSealer.from_state(header, rewound).seal(b"", close=True)
    store = _store(tmp_path, header, [*frames[:70], closing])
    (verdict,) = verify_store(store, owner_key)
    assert (verdict.status, verdict.at_seq) == ("modified", 70)


def test_thief_can_at_most_replace_what_follows_the_theft(
    owner_key: OwnerPrivateKey, tmp_path: Path
) -> None:
    """What the stolen state does allow: going on from frame 79. Everything sealed before the
    theft still reads back exactly as the Keep sealed it."""
    header, sealer, frames = _session(owner_key, 79)
    forger = FrameSealer.from_state(header, sealer.export_state())
    tail = [forger.seal(encode_batch([_row("forged")])), forger.seal(b"", close=True)]
    store = _store(tmp_path, header, frames + tail)
    (verdict,) = verify_store(store, owner_key)
    root = owner_key.open(header.enc, header.hpke_info)
    opener = FrameOpener(header, root)
    opened = [opener.open(p).data for p in frames + tail]
    assert opened[:79] == [encode_batch([_row(f"payment {i} OK")]) for i in range(79)]
    assert verdict.frames == 81


def test_signing_key_of_an_earlier_epoch_is_not_held(owner_key: OwnerPrivateKey) -> None:
    header, sealer, _ = _session(owner_key, 2 * EPOCH_FRAMES + 1)
    state = sealer.export_state()
    assert state.key_epoch == 2
    held = ed25519.Ed25519PrivateKey.from_private_bytes(state.signing_key)
    assert held.public_key().public_bytes_raw() != header.verify_key
    keys = [v for v in vars(sealer).values() if isinstance(v, ed25519.Ed25519PrivateKey)]
    assert len(keys) == 1


def test_owner_cannot_substitute_an_epoch_key(owner_key: OwnerPrivateKey, tmp_path: Path) -> None:
    """The owner can derive every frame key, but not certify a signing key of its own: the
    first frame of epoch 1 re-sealed with an owner-made key and certificate is refused."""
    header, _sealer, frames = _session(owner_key, EPOCH_FRAMES + 2)
    root = owner_key.open(header.enc, header.hpke_info)
    own_key = ed25519.Ed25519PrivateKey.generate()
    mimic = FrameSealer(header, root, own_key)
    for _ in frames[:EPOCH_FRAMES]:
        mimic.seal(b"")  # advance the schedule; the chain is reset below
    mimic.chain = _chain_before(header, frames, EPOCH_FRAMES)
    forged = mimic.seal(encode_batch([_row("payment 64 FAILED")]))
    store = _store(tmp_path, header, [*frames[:EPOCH_FRAMES], forged, *frames[EPOCH_FRAMES + 1 :]])
    (verdict,) = verify_store(store, owner_key)
    assert (verdict.status, verdict.at_seq) == ("modified", EPOCH_FRAMES)


def test_owner_opens_every_epoch_in_order(owner_key: OwnerPrivateKey) -> None:
    header, _, frames = _session(owner_key, 2 * EPOCH_FRAMES + 3)
    root = owner_key.open(header.enc, header.hpke_info)
    opener = FrameOpener(header, root)
    opened = [opener.open(p).data for p in frames]
    assert opened == [encode_batch([_row(f"payment {i} OK")]) for i in range(len(frames))]


def test_ratchet_erases_each_frame_key_and_the_previous_chain_key(
    owner_key: OwnerPrivateKey,
) -> None:
    """The schedule keeps one chain key, overwritten in place, and no frame key once a frame
    is sealed: nothing older is left in the object an attacker would dump."""
    launch = LaunchConfig("test", "production", b"\x00" * 32, owner_key.public_key.key_id)
    header, _ = start_session(owner_key.public_key, launch, none_evidence)
    sealer = FrameSealer(header, b"r" * 32, ed25519.Ed25519PrivateKey.generate())
    before = sealer.export_state().chain_key
    sealer.seal(b"a")
    after = sealer.export_state().chain_key
    assert before != after
    held = [bytes(v) for v in vars(sealer._keys).values() if isinstance(v, bytes | bytearray)]
    assert held == [after]
    assert sealer._keys._held is None
