"""Starting a session: fresh keys, the header, its attestation, and the frame sealer."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import ed25519

from sealog.profile._digest import profile_digest
from sealog.profile._model import Profile
from sealog.seal._evidence import Evidence
from sealog.seal._frames import FrameSealer
from sealog.seal._header import Header, LaunchConfig, check_keep_id
from sealog.seal._keys import OwnerPublicKey

__all__ = ["Attester", "start_profile_session", "start_session"]

#: Given the 64 bytes of report data, return evidence that signs them.
Attester = Callable[[bytes], Evidence]


def start_session(
    owner: OwnerPublicKey,
    launch: LaunchConfig,
    attester: Attester,
    *,
    keep_id: str = "keep",
    epoch_frames: int = 64,
    bucket: int = 0,
    checkpoint_every: int = 32,
    now: float | None = None,
) -> tuple[Header, FrameSealer]:
    """Create a session sealed to ``owner`` and return its header and sealer.

    The root secret exists only for the length of this call: it is sealed to the owner with
    HPKE, used to seed the key schedule, and dropped.
    """
    check_keep_id(keep_id)
    session_id = os.urandom(16)
    root = bytearray(os.urandom(32))
    signing_key = ed25519.Ed25519PrivateKey.generate()
    header = Header(
        session_id=session_id,
        keep_id=keep_id,
        created=time.time() if now is None else now,
        launch=launch,
        kem=owner.kem,
        enc=b"",
        verify_key=signing_key.public_key().public_bytes_raw(),
        epoch_frames=epoch_frames,
    )
    enc = owner.seal(bytes(root), header.hpke_info)
    header = Header(**{**header.__dict__, "enc": enc})
    evidence = attester(header.expected_report_data())
    header = Header(**{**header.__dict__, "evidence": evidence})
    sealer = FrameSealer(
        header, bytes(root), signing_key, bucket=bucket, checkpoint_every=checkpoint_every
    )
    root[:] = bytes(32)
    return header, sealer


def start_profile_session(
    owner: OwnerPublicKey,
    profile: Profile,
    attester: Attester,
    *,
    keep_id: str = "keep",
    control_digest: bytes = b"",
) -> tuple[Header, FrameSealer]:
    """:func:`start_session` with the launch configuration and stream shape of ``profile``."""
    launch = LaunchConfig(
        profile_name=profile.name,
        profile_stage=profile.stage.value,
        profile_digest=profile_digest(profile),
        owner_key_id=owner.key_id,
        control_digest=control_digest,
    )
    stream = profile.stream
    return start_session(
        owner,
        launch,
        attester,
        keep_id=keep_id,
        epoch_frames=stream.epoch_frames,
        bucket=stream.bucket if stream.padding else 0,
        checkpoint_every=stream.checkpoint_every,
    )
