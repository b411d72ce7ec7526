"""The session header: who a session is sealed to, under which launch configuration.

A header is canonical JSON (sorted keys, no white space). Its *core* is everything but the
attestation evidence; the evidence's 64 bytes of report data commit to the core:

    report_data = SHA-512(b"sealog/report-data/v1\\n" || core_bytes)

and the header digest that every frame binds covers the whole header, evidence included:

    header_digest = SHA-256(b"sealog/header/v1\\n" || header_bytes)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from sealog._strict import canonical_json, strict_json
from sealog.errors import FormatError
from sealog.seal._evidence import Evidence

__all__ = ["FORMAT_VERSION", "Header", "LaunchConfig", "check_keep_id"]

FORMAT_VERSION = 2
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
#: What a Keep id may be: the same alphabet change orders name Keeps in.
_KEEP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


def check_keep_id(keep_id: str) -> str:
    """Return ``keep_id`` if it is a safe name: letters, digits, ``_ . : -``, at most 128.

    A Keep id is printed by every owner command; a newline or an escape sequence in it could
    forge a verdict line on the owner's terminal.

    Raises:
        FormatError: any other character, or an empty or over-long id.
    """
    if not _KEEP_ID.fullmatch(keep_id):
        raise FormatError(
            f"keep id {keep_id!r}: expected letters, digits, '_', '.', ':' or '-' "
            "(at most 128, starting with a letter or digit)"
        )
    return keep_id


_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class LaunchConfig:
    """What a Keep was launched with; its digest is what attestation binds.

    Attributes:
        profile_name: the profile in force at launch.
        profile_stage: that profile's stage (its place on the ladder).
        profile_digest: the profile's canonical digest (32 bytes).
        control_digest: the control policy's digest, or empty when no control policy is set.
        owner_key_id: the id of the owner key the session is sealed to.
    """

    profile_name: str
    profile_stage: str
    profile_digest: bytes
    owner_key_id: str
    control_digest: bytes = b""

    def to_json(self) -> dict[str, str]:
        """The header's JSON form."""
        return {
            "control_digest": self.control_digest.hex(),
            "owner_key_id": self.owner_key_id,
            "profile": self.profile_name,
            "profile_digest": self.profile_digest.hex(),
            "stage": self.profile_stage,
        }

    @property
    def digest(self) -> bytes:
        """SHA-256(b"sealog/launch/v1\\n" || canonical JSON of the launch configuration)."""
        return hashlib.sha256(b"sealog/launch/v1\n" + canonical_json(self.to_json())).digest()

    @classmethod
    def from_json(cls, obj: Any) -> LaunchConfig:
        """Parse the header's JSON form (raises FormatError)."""
        if not isinstance(obj, dict) or set(obj) != {
            "control_digest",
            "owner_key_id",
            "profile",
            "profile_digest",
            "stage",
        }:
            raise FormatError("header: launch configuration has missing or unknown fields")
        try:
            return cls(
                profile_name=_str(obj, "profile"),
                profile_stage=_str(obj, "stage"),
                profile_digest=bytes.fromhex(_str(obj, "profile_digest")),
                owner_key_id=_str(obj, "owner_key_id"),
                control_digest=bytes.fromhex(_str(obj, "control_digest")),
            )
        except ValueError as exc:
            raise FormatError("header: launch configuration has a bad hex field") from exc


@dataclass(frozen=True)
class Header:
    """A session header.

    Attributes:
        session_id: 16 random bytes naming the session.
        keep_id: the Keep's name (chosen by whoever launched it; not a secret).
        created: start time, seconds since the epoch (from the Keep's clock).
        launch: the launch configuration.
        kem: the owner key's KEM.
        enc: the HPKE ciphertext of the session root secret, sealed to the owner.
        verify_key: the session's Ed25519 public key (checkpoints are signed with it).
        epoch_frames: frames per key epoch.
        evidence: attestation evidence whose report data commits to the core.
    """

    session_id: bytes
    keep_id: str
    created: float
    launch: LaunchConfig
    kem: str
    enc: bytes
    verify_key: bytes
    epoch_frames: int
    evidence: Evidence | None = None

    # -- the attestation Protocol used by sealog.attest ------------------------------------
    @property
    def profile_name(self) -> str:
        """The launch profile's name."""
        return self.launch.profile_name

    @property
    def profile_stage(self) -> str:
        """The launch profile's stage."""
        return self.launch.profile_stage

    @property
    def profile_digest(self) -> bytes:
        """The launch profile's digest."""
        return self.launch.profile_digest

    def expected_report_data(self) -> bytes:
        """The 64 bytes the attestation report data must equal."""
        return hashlib.sha512(b"sealog/report-data/v1\n" + self.core_bytes()).digest()

    # -- encodings ---------------------------------------------------------------------------
    def _core_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "enc": base64.b64encode(self.enc).decode(),
            "epoch_frames": self.epoch_frames,
            "format": FORMAT_VERSION,
            "keep": self.keep_id,
            "kem": self.kem,
            "launch": self.launch.to_json(),
            "launch_digest": self.launch.digest.hex(),
            "session": self.session_id.hex(),
            "verify_key": base64.b64encode(self.verify_key).decode(),
        }

    def core_bytes(self) -> bytes:
        """The canonical bytes of everything but the evidence."""
        return canonical_json(self._core_json())

    def to_bytes(self) -> bytes:
        """The canonical bytes of the whole header, as stored."""
        obj = self._core_json()
        obj["evidence"] = self.evidence.to_json() if self.evidence else None
        return canonical_json(obj)

    @property
    def digest(self) -> bytes:
        """The header digest every frame binds."""
        return hashlib.sha256(b"sealog/header/v1\n" + self.to_bytes()).digest()

    @property
    def hpke_info(self) -> bytes:
        """HPKE ``info`` for the root secret: binds it to this session and owner key."""
        return b"sealog/v1 session-root\n" + self.session_id + self.launch.owner_key_id.encode()

    @property
    def session_hex(self) -> str:
        """The session id in hex, as used in file names and on the command line."""
        return self.session_id.hex()

    @classmethod
    def from_bytes(cls, data: bytes) -> Header:
        """Parse and check a stored header.

        Raises:
            FormatError: not a header of a known format version, or a field is malformed,
                or the bytes are not the canonical encoding of what they say.
        """
        obj = strict_json(data, "header")
        if not isinstance(obj, dict):
            raise FormatError("header: expected a JSON object")
        if obj.get("format") != FORMAT_VERSION:
            raise FormatError(f"header: unknown format version {obj.get('format')!r}")
        expected = {
            "created",
            "enc",
            "epoch_frames",
            "evidence",
            "format",
            "keep",
            "kem",
            "launch",
            "launch_digest",
            "session",
            "verify_key",
        }
        if set(obj) != expected:
            raise FormatError("header: missing or unknown fields")
        session = _str(obj, "session")
        if not _HEX32.match(session):
            raise FormatError("header: session id is not 32 hex digits")
        created = obj["created"]
        epoch_frames = obj["epoch_frames"]
        if not isinstance(created, int | float) or isinstance(created, bool):
            raise FormatError("header: created is not a number")
        if not isinstance(epoch_frames, int) or isinstance(epoch_frames, bool) or epoch_frames < 1:
            raise FormatError("header: epoch_frames is not a positive integer")
        try:
            enc = base64.b64decode(_str(obj, "enc"), validate=True)
            verify_key = base64.b64decode(_str(obj, "verify_key"), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FormatError("header: bad base64 field") from exc
        if len(verify_key) != 32:
            raise FormatError("header: verification key is not 32 bytes")
        launch = LaunchConfig.from_json(obj["launch"])
        if not _HEX64.match(_str(obj, "launch_digest")) or (
            bytes.fromhex(obj["launch_digest"]) != launch.digest
        ):
            raise FormatError("header: launch digest does not match the launch configuration")
        evidence = None if obj["evidence"] is None else Evidence.from_json(obj["evidence"])
        header = cls(
            session_id=bytes.fromhex(session),
            keep_id=_str(obj, "keep"),
            created=float(created),
            launch=launch,
            kem=_str(obj, "kem"),
            enc=enc,
            verify_key=verify_key,
            epoch_frames=epoch_frames,
            evidence=evidence,
        )
        if header.to_bytes() != data:
            raise FormatError("header: not in canonical form")
        return header


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise FormatError(f"header: field {key!r} missing or not a string")
    return value
