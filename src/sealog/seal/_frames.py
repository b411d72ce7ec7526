"""Frames: the key schedule, sealing and opening one frame, and the chain that links them.

Layout of one frame payload (all integers big-endian):

    seq u64 | epoch u32 | AES-256-GCM ciphertext

    plaintext = kind u8 | flags u8 | data_len u32 | data | [signature 64] | zero padding
    nonce     = 0x00000000 || seq u64
    aad       = b"sealog/frame/v1\\n" || header_digest || seq u64 || epoch u32 || D(n-1)

The chain digest after frame n is ``SHA-256(b"sealog/chain/v1\\n" || D(n-1) || payload n)``,
starting from ``D(-1) = header_digest``. A checkpoint is an Ed25519 signature by the session
key over ``b"sealog/checkpoint/v1\\n" || header_digest || seq u64 || D(n-1)``: it authenticates
every frame before the one that carries it, to anyone who holds the header (no owner key needed).

Keys: ``CK(0) = HKDF-SHA256(root, salt=core_digest, info="sealog/v1 epoch-0")``; per epoch
``K(e) = HKDF-Expand(CK(e), "sealog/v1 aead")`` and ``CK(e+1) = HKDF-Expand(CK(e),
"sealog/v1 ratchet")``. The epoch of frame ``seq`` is ``seq // epoch_frames``. A chain key is
overwritten as soon as the next one is derived, so state taken from a Keep at epoch ``e`` cannot
open or forge frames of earlier epochs.
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
    "FRAME_OVERHEAD",
    "KIND_CLOSE",
    "KIND_DATA",
    "SIGNATURE_SIZE",
    "FrameOpener",
    "FrameSealer",
    "KeySchedule",
    "OpenedFrame",
    "chain_next",
    "checkpoint_message",
    "core_digest",
    "parse_frame_header",
]

KIND_DATA = 0
KIND_CLOSE = 1
_FLAG_CHECKPOINT = 1
SIGNATURE_SIZE = 64
_PREFIX = struct.Struct(">QI")  # seq, epoch
_PLAIN = struct.Struct(">BBI")  # kind, flags, data_len
_TAG = 16
#: Bytes a frame adds to its data: clear prefix, plaintext header, a signature slot, GCM tag.
FRAME_OVERHEAD = _PREFIX.size + _PLAIN.size + SIGNATURE_SIZE + _TAG


def core_digest(header: Header) -> bytes:
    """SHA-256 over the header core: the salt of the key schedule."""
    return hashlib.sha256(b"sealog/core/v1\n" + header.core_bytes()).digest()


def chain_next(prev: bytes, payload: bytes) -> bytes:
    """The chain digest after a frame."""
    return hashlib.sha256(b"sealog/chain/v1\n" + prev + payload).digest()


def checkpoint_message(header_digest: bytes, seq: int, prev: bytes) -> bytes:
    """What a checkpoint signature covers."""
    return b"sealog/checkpoint/v1\n" + header_digest + seq.to_bytes(8, "big") + prev


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
    """Per-epoch AEAD keys, ratcheted forward only."""

    def __init__(self, root_secret: bytes, salt: bytes) -> None:
        self._chain = bytearray(
            HKDF(hashes.SHA256(), 32, salt, b"sealog/v1 epoch-0").derive(root_secret)
        )
        self._epoch = 0
        self._aead = self._derive_aead()

    @property
    def epoch(self) -> int:
        """The epoch whose key is held now."""
        return self._epoch

    def _derive_aead(self) -> AESGCM:
        expand = HKDFExpand(hashes.SHA256(), 32, b"sealog/v1 aead")
        key = bytearray(expand.derive(bytes(self._chain)))
        aead = AESGCM(bytes(key))
        key[:] = bytes(len(key))
        return aead

    def aead(self, epoch: int) -> AESGCM:
        """The AEAD for ``epoch``, ratcheting forward (and erasing) as needed.

        Raises:
            DecryptionError: ``epoch`` is before the current one; its key is gone.
        """
        if epoch < self._epoch:
            raise DecryptionError("frame key of an earlier epoch is no longer held")
        while self._epoch < epoch:
            nxt = HKDFExpand(hashes.SHA256(), 32, b"sealog/v1 ratchet").derive(bytes(self._chain))
            self._chain[:] = nxt  # overwrite in place: the old chain key is gone
            self._epoch += 1
            self._aead = self._derive_aead()
        return self._aead

    def export_state(self) -> tuple[int, bytes]:
        """The current ``(epoch, chain key)``: what an attacker who seizes the Keep would get."""
        return self._epoch, bytes(self._chain)

    @classmethod
    def from_state(cls, epoch: int, chain_key: bytes) -> KeySchedule:
        """Rebuild a schedule from exported state (used to test forward security)."""
        schedule = cls.__new__(cls)
        schedule._chain = bytearray(chain_key)
        schedule._epoch = epoch
        schedule._aead = schedule._derive_aead()
        return schedule


def _aad(header_digest: bytes, prefix: bytes, prev: bytes) -> bytes:
    return b"sealog/frame/v1\n" + header_digest + prefix + prev


class FrameSealer:
    """Seals consecutive frames of one session (inside the Keep).

    Args:
        header: the session header (with its evidence: the chain binds the full header).
        root_secret: the 32-byte session root secret.
        signing_key: the session's Ed25519 key, whose public half is in the header.
        bucket: the fixed plaintext size of every frame, or 0 for no padding.
        checkpoint_every: sign the chain head every this many frames (and at seq 0 and close).
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
        return self._bucket - _PLAIN.size - SIGNATURE_SIZE

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
        checkpoint = close or seq % self._checkpoint_every == 0
        flags = _FLAG_CHECKPOINT if checkpoint else 0
        parts = [_PLAIN.pack(KIND_CLOSE if close else KIND_DATA, flags, len(data)), data]
        if checkpoint:
            msg = checkpoint_message(self._header_digest, seq, self.chain)
            parts.append(self._signing_key.sign(msg))
        plaintext = b"".join(parts)
        if self._bucket:
            plaintext += bytes(self._bucket - len(plaintext))
        prefix = _PREFIX.pack(seq, epoch)
        nonce = seq.to_bytes(12, "big")
        aead = self._keys.aead(epoch)
        aad = _aad(self._header_digest, prefix, self.chain)
        payload = prefix + aead.encrypt(nonce, plaintext, aad)
        self.chain = chain_next(self.chain, payload)
        self.seq = seq + 1
        self.closed = close
        return payload

    def export_key_state(self) -> tuple[int, bytes]:
        """See :meth:`KeySchedule.export_state`."""
        return self._keys.export_state()


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
        epoch = seq // self._epoch_frames
        aad = _aad(self._header_digest, payload[: _PREFIX.size], self.chain)
        try:
            return self._keys.aead(epoch).decrypt(
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
        if kind not in (KIND_DATA, KIND_CLOSE) or end + (SIGNATURE_SIZE if has_sig else 0) > len(
            plaintext
        ):
            raise DecryptionError("frame does not open")
        if has_sig:
            sig = plaintext[end : end + SIGNATURE_SIZE]
            try:
                self._verify_key.verify(
                    sig, checkpoint_message(self._header_digest, seq, self.chain)
                )
            except InvalidSignature as exc:
                raise DecryptionError("frame does not open") from exc
        elif seq == 0 or kind == KIND_CLOSE:
            # The first frame signs the header and the last signs the whole chain: both required.
            raise DecryptionError("frame does not open")
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
