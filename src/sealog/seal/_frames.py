"""Frames: the key schedule, sealing and opening one frame, and the chain that links them.

Layout of one frame payload (all integers big-endian):

    seq u64 | epoch u32 | AES-256-GCM ciphertext

    plaintext = body | [signature 64] | zero padding
    body      = kind u8 | flags u8 | data_len u32 | data | [epoch_key 32 | certificate 64]
    nonce     = 0x00000000 || seq u64
    aad       = b"sealog/frame/v2\\n" || header_digest || seq u64 || epoch u32 || D(n-1)

The chain digest after frame n is ``SHA-256(b"sealog/chain/v2\\n" || D(n-1) || payload n)``,
starting from ``D(-1) = header_digest``.

Keys evolve per frame: ``CK(0) = HKDF-SHA256(root, salt=core_digest, info="sealog/v2
frame-chain")`` and ``K(n) || CK(n+1) = HKDF-Expand(CK(n), "sealog/v2 frame", 64)``. The sealer
overwrites ``CK(n)`` with ``CK(n+1)`` as it derives ``K(n)`` and drops ``K(n)`` once frame n is
sealed, so state taken from a Keep after frame n opens no frame up to n.

Signing keys evolve per epoch (``epoch = seq // epoch_frames``): epoch 0 signs with the session
key in the header (the one attestation binds); the first frame of epoch e > 0 carries a fresh
Ed25519 public key ``PK(e)`` and a certificate, the signature by ``SK(e-1)`` over
``b"sealog/epoch-key/v2\\n" || header_digest || e u32 || PK(e)``, and ``SK(e-1)`` is dropped. A
checkpoint is a signature by the epoch's key over ``b"sealog/checkpoint/v2\\n" || header_digest
|| seq u64 || D(n-1) || SHA-256(body)``: it authenticates every frame before the one carrying
it *and* that frame's own content, so the owner, who can derive every AEAD key, can rewrite no
frame up to the last checkpoint, the closing frame included.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from sealog.errors import DecryptionError, FormatError
from sealog.seal._header import Header

__all__ = [
    "CERTIFICATE_SIZE",
    "FRAME_OVERHEAD",
    "KIND_CLOSE",
    "KIND_DATA",
    "SIGNATURE_SIZE",
    "FrameOpener",
    "FrameSealer",
    "KeySchedule",
    "OpenedFrame",
    "SealerState",
    "chain_next",
    "checkpoint_message",
    "core_digest",
    "epoch_key_message",
    "parse_frame_header",
]

KIND_DATA = 0
KIND_CLOSE = 1
_FLAG_CHECKPOINT = 1
_FLAG_EPOCH_KEY = 2
SIGNATURE_SIZE = 64
#: An epoch key and the previous epoch key's signature over it.
CERTIFICATE_SIZE = 32 + SIGNATURE_SIZE
_PREFIX = struct.Struct(">QI")  # seq, epoch
_PLAIN = struct.Struct(">BBI")  # kind, flags, data_len
_TAG = 16
#: Bytes a frame adds to its data: clear prefix, plaintext header, the certificate and
#: signature slots, GCM tag.
FRAME_OVERHEAD = _PREFIX.size + _PLAIN.size + CERTIFICATE_SIZE + SIGNATURE_SIZE + _TAG
_ZERO64 = bytes(64)


def core_digest(header: Header) -> bytes:
    """SHA-256 over the header core: the salt of the key schedule."""
    return hashlib.sha256(b"sealog/core/v2\n" + header.core_bytes()).digest()


def chain_next(prev: bytes, payload: bytes) -> bytes:
    """The chain digest after a frame."""
    return hashlib.sha256(b"sealog/chain/v2\n" + prev + payload).digest()


def checkpoint_message(header_digest: bytes, seq: int, prev: bytes, body: bytes) -> bytes:
    """What a checkpoint signature covers: the chain before the frame and the frame's body."""
    return (
        b"sealog/checkpoint/v2\n"
        + header_digest
        + seq.to_bytes(8, "big")
        + prev
        + hashlib.sha256(body).digest()
    )


def epoch_key_message(header_digest: bytes, epoch: int, public_key: bytes) -> bytes:
    """What the certificate of an epoch's signing key covers."""
    return b"sealog/epoch-key/v2\n" + header_digest + epoch.to_bytes(4, "big") + public_key


def parse_frame_header(payload: bytes) -> tuple[int, int]:
    """The clear ``(seq, epoch)`` of a frame payload.

    Raises:
        FormatError: the payload is too short to be a frame.
    """
    if len(payload) < _PREFIX.size + _TAG + _PLAIN.size:
        raise FormatError(f"frame of {len(payload)} bytes is too short")
    seq, epoch = _PREFIX.unpack_from(payload)
    return seq, epoch


class KeySchedule:
    """Per-frame AEAD keys, ratcheted forward only.

    The schedule holds one chain key, ``CK(next)``, overwritten in place at every step, and at
    most one frame key (the last one asked for) until :meth:`forget` drops it.
    """

    def __init__(self, root_secret: bytes, salt: bytes) -> None:
        self._chain = bytearray(
            HKDF(hashes.SHA256(), 32, salt, b"sealog/v2 frame-chain").derive(root_secret)
        )
        self._next = 0
        self._held: tuple[int, AESGCM] | None = None

    @property
    def next_seq(self) -> int:
        """The frame whose key the held chain key derives next."""
        return self._next

    def aead(self, seq: int) -> AESGCM:
        """The AEAD of frame ``seq``, ratcheting forward (and erasing) as needed.

        Raises:
            DecryptionError: frame ``seq`` is before the chain key held; its key is gone.
        """
        held = self._held
        if held is not None and held[0] == seq:
            return held[1]
        if seq < self._next:
            raise DecryptionError("frame key of an earlier frame is no longer held")
        self._held = None
        while True:
            step = HKDFExpand(hashes.SHA256(), 64, b"sealog/v2 frame")
            out = bytearray(step.derive(bytes(self._chain)))
            self._chain[:] = out[32:]  # overwrite in place: the old chain key is gone
            current = self._next
            self._next = current + 1
            if current == seq:
                aead = AESGCM(bytes(out[:32]))
                out[:] = _ZERO64
                self._held = (seq, aead)
                return aead
            out[:] = _ZERO64

    def forget(self) -> None:
        """Drop the held frame key (the sealer calls this once a frame is sealed)."""
        self._held = None

    def export_state(self) -> tuple[int, bytes]:
        """The current ``(next seq, chain key)``: what an attacker who seizes the Keep gets."""
        return self._next, bytes(self._chain)

    @classmethod
    def from_state(cls, next_seq: int, chain_key: bytes) -> KeySchedule:
        """Rebuild a schedule from exported state (used to test forward security)."""
        schedule = cls.__new__(cls)
        schedule._chain = bytearray(chain_key)
        schedule._next = next_seq
        schedule._held = None
        return schedule


@dataclass(frozen=True)
class SealerState:
    """Everything a sealer holds between two frames: what a thief who seizes the Keep gets.

    Attributes:
        seq: the next frame's sequence number.
        chain: the chain digest ``D(seq-1)`` (public: anyone holding the stream computes it).
        chain_key: the key schedule's chain key ``CK(seq)``.
        key_epoch: the epoch of the signing key held.
        signing_key: that epoch's Ed25519 private key, raw.
        closed: whether the closing frame was sealed.
    """

    seq: int
    chain: bytes
    chain_key: bytes
    key_epoch: int
    signing_key: bytes
    closed: bool


def _aad(header_digest: bytes, prefix: bytes, prev: bytes) -> bytes:
    return b"sealog/frame/v2\n" + header_digest + prefix + prev


class FrameSealer:
    """Seals consecutive frames of one session (inside the Keep).

    Args:
        header: the session header (with its evidence: the chain binds the full header).
        root_secret: the 32-byte session root secret.
        signing_key: the session's Ed25519 key, whose public half is in the header.
        bucket: the fixed plaintext size of every frame, or 0 for no padding.
        checkpoint_every: sign the chain head every this many frames (and at seq 0, at the
            start of every epoch and at close).
    """

    def __init__(
        self,
        header: Header,
        root_secret: bytes,
        signing_key: ed25519.Ed25519PrivateKey,
        *,
        bucket: int = 0,
        checkpoint_every: int = 32,
    ) -> None:
        self._header_digest = header.digest
        self._epoch_frames = header.epoch_frames
        self._keys = KeySchedule(root_secret, core_digest(header))
        self._signing_key = signing_key
        self._key_epoch = 0
        self._bucket = bucket
        self._checkpoint_every = checkpoint_every
        self.seq = 0
        self.chain = self._header_digest
        self.closed = False

    @property
    def capacity(self) -> int | None:
        """Data bytes one padded frame holds, or None when frames are not padded."""
        if not self._bucket:
            return None
        return self._bucket - _PLAIN.size - CERTIFICATE_SIZE - SIGNATURE_SIZE

    def _next_epoch_key(self, epoch: int) -> bytes:
        """Make the signing key of ``epoch``, certify it with the current one, drop that one."""
        fresh = ed25519.Ed25519PrivateKey.generate()
        public = fresh.public_key().public_bytes_raw()
        certificate = self._signing_key.sign(epoch_key_message(self._header_digest, epoch, public))
        self._signing_key = fresh  # the previous epoch's key is no longer referenced
        self._key_epoch = epoch
        return public + certificate

    def seal(self, data: bytes, *, close: bool = False) -> bytes:
        """Seal ``data`` into the next frame and return its payload.

        Raises:
            FormatError: the session is closed, or ``data`` exceeds a padded frame's capacity.
        """
        if self.closed:
            raise FormatError("session is closed")
        capacity = self.capacity
        if capacity is not None and len(data) > capacity:
            raise FormatError(f"{len(data)} bytes do not fit a frame of {capacity}")
        seq = self.seq
        epoch = seq // self._epoch_frames
        new_epoch = epoch != self._key_epoch
        checkpoint = close or new_epoch or seq % self._checkpoint_every == 0
        flags = (_FLAG_CHECKPOINT if checkpoint else 0) | (_FLAG_EPOCH_KEY if new_epoch else 0)
        parts = [_PLAIN.pack(KIND_CLOSE if close else KIND_DATA, flags, len(data)), data]
        if new_epoch:
            parts.append(self._next_epoch_key(epoch))
        if checkpoint:
            body = b"".join(parts)
            msg = checkpoint_message(self._header_digest, seq, self.chain, body)
            parts = [body, self._signing_key.sign(msg)]
        plaintext = b"".join(parts)
        if self._bucket:
            plaintext += bytes(self._bucket - len(plaintext))
        prefix = _PREFIX.pack(seq, epoch)
        nonce = seq.to_bytes(12, "big")
        aead = self._keys.aead(seq)
        aad = _aad(self._header_digest, prefix, self.chain)
        payload = prefix + aead.encrypt(nonce, plaintext, aad)
        self._keys.forget()
        self.chain = chain_next(self.chain, payload)
        self.seq = seq + 1
        self.closed = close
        return payload

    def export_state(self) -> SealerState:
        """Everything this sealer holds now (a forward-security test seizes it)."""
        _next_seq, chain_key = self._keys.export_state()
        return SealerState(
            seq=self.seq,
            chain=self.chain,
            chain_key=chain_key,
            key_epoch=self._key_epoch,
            signing_key=self._signing_key.private_bytes_raw(),
            closed=self.closed,
        )

    @classmethod
    def from_state(
        cls,
        header: Header,
        state: SealerState,
        *,
        bucket: int = 0,
        checkpoint_every: int = 32,
    ) -> FrameSealer:
        """A sealer that goes on from seized state (what a thief can do with it)."""
        sealer = cls.__new__(cls)
        sealer._header_digest = header.digest
        sealer._epoch_frames = header.epoch_frames
        sealer._keys = KeySchedule.from_state(state.seq, state.chain_key)
        sealer._signing_key = ed25519.Ed25519PrivateKey.from_private_bytes(state.signing_key)
        sealer._key_epoch = state.key_epoch
        sealer._bucket = bucket
        sealer._checkpoint_every = checkpoint_every
        sealer.seq = state.seq
        sealer.chain = state.chain
        sealer.closed = state.closed
        return sealer


@dataclass(frozen=True)
class OpenedFrame:
    """One frame, opened and authenticated.

    Attributes:
        seq: its sequence number.
        epoch: its key epoch.
        close: whether it is the closing frame.
        data: the record-stream bytes it carries.
        checkpoint: whether it carried a valid checkpoint signature.
        size: the payload's size on the wire.
    """

    seq: int
    epoch: int
    close: bool
    data: bytes
    checkpoint: bool
    size: int


class FrameOpener:
    """Opens the frames of one session in order (the owner's side)."""

    def __init__(self, header: Header, root_secret: bytes) -> None:
        self._header_digest = header.digest
        self._epoch_frames = header.epoch_frames
        self._keys = KeySchedule(root_secret, core_digest(header))
        self._verify_key = ed25519.Ed25519PublicKey.from_public_bytes(header.verify_key)
        self._key_epoch = 0
        self.chain = self._header_digest
        self.next_seq = 0

    def opens_with_fixed_header(self, payload: bytes) -> bool:
        """Whether ``payload`` would open as the next frame if its clear ``seq``/``epoch`` were
        right: tells "the clear header was altered" apart from "a different frame is here"."""
        seq = self.next_seq
        fixed = _PREFIX.pack(seq, seq // self._epoch_frames) + payload[_PREFIX.size :]
        try:
            self._peek(fixed, seq)
        except (DecryptionError, FormatError):
            return False
        return True

    def _peek(self, payload: bytes, seq: int) -> bytes:
        aad = _aad(self._header_digest, payload[: _PREFIX.size], self.chain)
        try:
            return self._keys.aead(seq).decrypt(
                seq.to_bytes(12, "big"), payload[_PREFIX.size :], aad
            )
        except InvalidTag as exc:
            raise DecryptionError("frame does not open") from exc

    def open(self, payload: bytes) -> OpenedFrame:
        """Open the next frame; on success the chain advances.

        Raises:
            FormatError: too short to be a frame.
            DecryptionError: the frame does not open in this position of this session.
        """
        seq, epoch = parse_frame_header(payload)
        if seq != self.next_seq or epoch != seq // self._epoch_frames:
            raise DecryptionError("frame does not open")
        plaintext = self._peek(payload, seq)
        kind, flags, data_len = _PLAIN.unpack_from(plaintext)
        end = _PLAIN.size + data_len
        has_sig = bool(flags & _FLAG_CHECKPOINT)
        has_cert = bool(flags & _FLAG_EPOCH_KEY)
        new_epoch = epoch != self._key_epoch
        body_end = end + (CERTIFICATE_SIZE if has_cert else 0)
        if (
            kind not in (KIND_DATA, KIND_CLOSE)
            or flags & ~(_FLAG_CHECKPOINT | _FLAG_EPOCH_KEY)
            or has_cert != new_epoch
            or body_end + (SIGNATURE_SIZE if has_sig else 0) > len(plaintext)
            # The first frame signs the header, the first of each epoch vouches for the new
            # key, and the last signs the whole chain and itself: all three must be checkpoints.
            or (not has_sig and (seq == 0 or new_epoch or kind == KIND_CLOSE))
        ):
            raise DecryptionError("frame does not open")
        verify_key = self._verify_key
        try:
            if has_cert:
                public = plaintext[end : end + 32]
                verify_key.verify(
                    plaintext[end + 32 : body_end],
                    epoch_key_message(self._header_digest, epoch, public),
                )
                verify_key = ed25519.Ed25519PublicKey.from_public_bytes(public)
            if has_sig:
                verify_key.verify(
                    plaintext[body_end : body_end + SIGNATURE_SIZE],
                    checkpoint_message(self._header_digest, seq, self.chain, plaintext[:body_end]),
                )
        except InvalidSignature as exc:
            raise DecryptionError("frame does not open") from exc
        self._verify_key = verify_key
        self._key_epoch = epoch
        self.chain = chain_next(self.chain, payload)
        self.next_seq = seq + 1
        return OpenedFrame(
            seq=seq,
            epoch=epoch,
            close=kind == KIND_CLOSE,
            data=plaintext[_PLAIN.size : end],
            checkpoint=has_sig,
            size=len(payload),
        )
