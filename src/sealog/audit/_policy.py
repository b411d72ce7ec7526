"""The control policy: who may switch a Keep to which profile, for how long (DESIGN.md section 6).

A control policy is a TOML file that is part of the Keep's launch configuration, so its digest
goes into the attestation binding::

    format = 1
    audit_log_key = "sealog-ed25519-pub:v1:<base64>"
    max_tree_head_age = "1h"  # optional: refuse orders proven under an older tree head

    [[approvers]]
    name = "alice"
    key = "sealog-ed25519-pub:v1:<base64>"

    [targets.incident]        # one table per profile name that may be switched to
    approvals = 2             # distinct approvers needed, 1 ..= number of approvers
    max_duration = "2h"       # longest validity window of an order: "30s", "15m", "2h", "1d"
    profile_digest = "<hex>"  # the target profile's digest; optional for a built-in name

A target is bound to one profile by its digest (a built-in name defaults to the built-in
profile's digest): the Keep resolves every target once, at launch, and refuses one whose
profile does not have this digest; it never reads a profile from its working folder when an
order arrives, so a host that plants a file under a target's name gains nothing.

Two optional keys ask for session transparency: ``announce_sessions = true`` (a Keep starts its
workload only once its session is proven in the audit log) and ``announce_wait = "2m"`` (how
long it waits for that proof; only with ``announce_sessions``).

The loader is strict: an unknown key, a missing key or a value of the wrong type is a
:class:`~sealog.errors.FormatError` naming the file and the dotted key, because a typo in a
security policy must not weaken it silently.

The policy digest is SHA-256 over ``b"sealog/control/v1\\n"`` followed by the sorted, compact JSON
of ``{"approvers": [{"key", "name"}, ...] (sorted by name), "audit_log_key", "format",
"targets": {name: {"approvals", "max_duration_seconds", "profile_digest"}},
"max_tree_head_age_seconds"}`` (0 for none), keys written
in their one-line text form, plus ``"announce_sessions": true, "announce_wait_seconds": n`` when
announcements are asked for (a policy without them keeps the digest it had). Comments, key
order and ``"120m"`` against ``"2h"`` do not change it.

This module also holds the Ed25519 public key type shared by approvers and the audit log
(:class:`VerifyKey`), beside the signing half in ``_keys``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sealog._files import KEY_LIMIT, read_text
from sealog._strict import FieldReader, canonical_json, strict_toml
from sealog.errors import FormatError
from sealog.profile import builtin_names, builtin_profile, profile_digest

__all__ = [
    "CONTROL_FORMAT",
    "DEFAULT_ANNOUNCE_WAIT",
    "Approver",
    "ControlPolicy",
    "TargetRule",
    "VerifyKey",
    "control_policy_digest",
    "format_duration",
    "load_control_policy",
    "parse_control_policy",
    "parse_duration",
]

#: The one control-policy format version this code reads.
CONTROL_FORMAT = 1
_PUB_TAG = "sealog-ed25519-pub:v1:"
_DIGEST_PREFIX = b"sealog/control/v1\n"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DURATION = re.compile(r"^([1-9][0-9]{0,9})([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: How long a Keep waits for its announcement when the policy does not say.
DEFAULT_ANNOUNCE_WAIT = timedelta(minutes=2)


@dataclass(frozen=True)
class VerifyKey:
    """An Ed25519 public key: an approver's or the audit log's.

    Its text form is one line, ``sealog-ed25519-pub:v1:<base64 of the raw 32-byte key>``.

    Attributes:
        raw: the 32 raw public key bytes (RFC 8032).
    """

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise FormatError(f"Ed25519 public key is {len(self.raw)} bytes, expected 32")
        try:
            Ed25519PublicKey.from_public_bytes(self.raw)
        except ValueError as exc:
            raise FormatError("not a valid Ed25519 public key") from exc

    @property
    def key_id(self) -> str:
        """The first 16 hex digits of SHA-256 over the raw public key."""
        return hashlib.sha256(self.raw).hexdigest()[:16]

    def to_text(self) -> str:
        """The one-line text form, without a line end."""
        return _PUB_TAG + base64.b64encode(self.raw).decode()

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is this key's Ed25519 signature over ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    @classmethod
    def from_text(cls, text: str, *, source: str = "public key") -> VerifyKey:
        """Parse the one-line text form (surrounding white space is ignored).

        Raises:
            FormatError: not a ``sealog-ed25519-pub:v1:`` line, bad base64 or a bad key.
        """
        line = text.strip()
        if not line.startswith(_PUB_TAG):
            raise FormatError(
                f"{source}: not a sealog Ed25519 public key (expected a line starting {_PUB_TAG})"
            )
        try:
            raw = base64.b64decode(line[len(_PUB_TAG) :], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FormatError(f"{source}: public key is not valid base64") from exc
        try:
            return cls(raw)
        except FormatError as exc:
            raise FormatError(f"{source}: {exc}") from exc

    @classmethod
    def load(cls, path: Path) -> VerifyKey:
        """Read a ``PREFIX.pub`` file.

        Raises:
            FormatError: missing, unreadable or malformed file.
        """
        return cls.from_text(read_text(path, "a key file", limit=KEY_LIMIT), source=str(path))


@dataclass(frozen=True)
class Approver:
    """A person (or role) whose signature counts toward an order's quorum.

    Attributes:
        name: a unique, human name used in messages and in the sealed stream.
        key: the approver's Ed25519 public key.
    """

    name: str
    key: VerifyKey

    @property
    def key_id(self) -> str:
        """The approver key's id."""
        return self.key.key_id


@dataclass(frozen=True)
class TargetRule:
    """What it takes to switch a Keep to one profile.

    Attributes:
        profile: the target profile's name.
        approvals: how many distinct approvers must sign an order (>= 1).
        max_duration: the longest validity window an order may ask for (> 0).
        profile_digest: the digest (32 bytes) the target profile must have.
    """

    profile: str
    approvals: int
    max_duration: timedelta
    profile_digest: bytes = b""

    def __post_init__(self) -> None:
        if not self.profile_digest and self.profile in builtin_names():
            object.__setattr__(
                self, "profile_digest", profile_digest(builtin_profile(self.profile))
            )
        if len(self.profile_digest) != 32:
            raise FormatError(
                f"targets.{self.profile}.profile_digest: required for a profile that is not "
                "built in (64 hex digits, as sealog profiles show FILE prints)"
            )


@dataclass(frozen=True)
class ControlPolicy:
    """The control policy of a Keep: approvers, per-target quorum and duration, the log's key.

    Build it with :func:`load_control_policy` or :func:`parse_control_policy`; the constructor
    checks the invariants (unique approver names and keys, 1 <= approvals <= approvers,
    durations > 0) and raises :class:`~sealog.errors.FormatError` otherwise.

    Attributes:
        audit_log_key: the audit log's public key; tree heads must verify with it.
        approvers: the approvers, in file order.
        targets: one rule per profile name that may be switched to, sorted by name.
        text: the TOML text it was parsed from: the Keep seals exactly what it enforces, so
            the owner checks orders against the same bytes (empty when built in code).
        max_tree_head_age: the oldest audit log tree head an order may come with, or None.
        announce_sessions: a Keep must prove its session is in the audit log before its
            workload starts (session transparency, ``docs/control.md``).
        announce_wait: how long a Keep waits for that proof before it gives up (> 0).
    """

    audit_log_key: VerifyKey
    approvers: tuple[Approver, ...]
    targets: tuple[TargetRule, ...]
    text: str = field(default="", compare=False, repr=False)
    max_tree_head_age: timedelta | None = None
    announce_sessions: bool = False
    announce_wait: timedelta = DEFAULT_ANNOUNCE_WAIT

    def __post_init__(self) -> None:
        names: set[str] = set()
        keys: set[bytes] = set()
        key_ids: set[str] = set()
        for approver in self.approvers:
            if approver.name in names:
                raise FormatError(f"approver name {approver.name!r} appears twice")
            if approver.key.raw in keys:
                raise FormatError(f"approver {approver.name!r} reuses another approver's key")
            if approver.key_id in key_ids:
                # Signatures name their key by id, so ids must be unique too.
                raise FormatError(f"approver {approver.name!r} has another approver's key id")
            names.add(approver.name)
            keys.add(approver.key.raw)
            key_ids.add(approver.key_id)
        seen: set[str] = set()
        for rule in self.targets:
            if rule.profile in seen:
                raise FormatError(f"target {rule.profile!r} appears twice")
            seen.add(rule.profile)
            if not 1 <= rule.approvals <= len(self.approvers):
                raise FormatError(
                    f"targets.{rule.profile}.approvals: expected 1 to {len(self.approvers)} "
                    f"(the number of approvers), got {rule.approvals}"
                )
            if rule.max_duration <= timedelta(0):
                raise FormatError(
                    f"targets.{rule.profile}.max_duration: expected > 0, got {rule.max_duration}"
                )
        if self.announce_wait <= timedelta(0):
            raise FormatError(f"announce_wait: expected > 0, got {self.announce_wait}")
        object.__setattr__(self, "targets", tuple(sorted(self.targets, key=lambda r: r.profile)))

    def target(self, profile: str) -> TargetRule | None:
        """The rule for switching to ``profile``, or None when the policy does not allow it."""
        for rule in self.targets:
            if rule.profile == profile:
                return rule
        return None

    def approver_by_key_id(self, key_id: str) -> Approver | None:
        """The approver whose key has this id, or None."""
        for approver in self.approvers:
            if approver.key_id == key_id:
                return approver
        return None

    def canonical(self) -> dict[str, Any]:
        """The canonical JSON value that :func:`control_policy_digest` hashes."""
        value: dict[str, Any] = {
            "format": CONTROL_FORMAT,
            "audit_log_key": self.audit_log_key.to_text(),
            "approvers": [
                {"name": a.name, "key": a.key.to_text()}
                for a in sorted(self.approvers, key=lambda a: a.name)
            ],
            "targets": {
                rule.profile: {
                    "approvals": rule.approvals,
                    "max_duration_seconds": int(rule.max_duration.total_seconds()),
                    "profile_digest": rule.profile_digest.hex(),
                }
                for rule in self.targets
            },
            "max_tree_head_age_seconds": (
                int(self.max_tree_head_age.total_seconds()) if self.max_tree_head_age else 0
            ),
        }
        if self.announce_sessions:
            # Only when asked for: policies without announcements keep their digests.
            value["announce_sessions"] = True
            value["announce_wait_seconds"] = int(self.announce_wait.total_seconds())
        return value


def control_policy_digest(policy: ControlPolicy) -> bytes:
    """SHA-256 over ``b"sealog/control/v1\\n"`` + the sorted compact JSON of the policy.

    Args:
        policy: the policy.

    Returns:
        32 bytes, the value the launch configuration binds.
    """
    return hashlib.sha256(_DIGEST_PREFIX + canonical_json(policy.canonical())).digest()


def parse_duration(text: str, *, what: str = "duration") -> timedelta:
    """Parse ``"30s"``, ``"15m"``, ``"2h"`` or ``"1d"`` (a positive whole number and a unit).

    Raises:
        FormatError: any other form, or zero.
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise FormatError(f"{what}: expected a duration like 30s, 15m, 2h or 1d, got {text!r}")
    try:
        return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    except OverflowError as exc:
        raise FormatError(f"{what}: {text!r} is longer than any time sealog can write") from exc


def format_duration(value: timedelta) -> str:
    """The shortest ``"2h"``-style form of a whole number of seconds (for messages)."""
    seconds = int(value.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def load_control_policy(path: Path) -> ControlPolicy:
    """Read and check a control policy file.

    Raises:
        FormatError: missing or unreadable file, bad TOML, or a policy that breaks the schema;
            the message names the file and the dotted key.
    """
    return parse_control_policy(read_text(path), source=str(path))


def parse_control_policy(text: str, *, source: str = "control policy") -> ControlPolicy:
    """Parse control policy TOML text.

    Args:
        text: the TOML text.
        source: the name used in error messages (usually the file path).

    Raises:
        FormatError: bad TOML, an unknown or missing key, a value of the wrong type or out of
            range, duplicate approvers.
    """
    doc = strict_toml(text, source)
    r = _Reader(source)
    r.keys(
        doc,
        "",
        required=("format", "audit_log_key", "approvers", "targets"),
        optional=("max_tree_head_age", "announce_sessions", "announce_wait"),
    )
    version = r.integer(doc, "format")
    if version != CONTROL_FORMAT:
        raise FormatError(f"{source}: format: expected {CONTROL_FORMAT}, got {version}")
    log_key = r.pubkey(doc, "audit_log_key")
    raw_approvers = r.get(doc, "approvers", list, "an array of tables")
    approvers: list[Approver] = []
    for i, item in enumerate(raw_approvers):
        where = f"approvers[{i}]"
        table = r.check(item, where, dict, "a table")
        r.keys(table, where + ".", required=("name", "key"), optional=())
        name = r.string(table, "name", prefix=where + ".")
        if not _NAME.fullmatch(name):
            raise FormatError(
                f"{source}: {where}.name: expected letters, digits, '.', '_' or '-' "
                f"(at most 64), got {name!r}"
            )
        approvers.append(Approver(name, r.pubkey(table, "key", prefix=where + ".")))
    raw_targets = r.get(doc, "targets", dict, "a table of target profiles")
    targets: list[TargetRule] = []
    for name, item in raw_targets.items():
        where = f"targets.{name}"
        if not _NAME.fullmatch(name):
            raise FormatError(f"{source}: {where}: not a valid profile name")
        table = r.check(item, where, dict, "a table")
        r.keys(
            table,
            where + ".",
            required=("approvals", "max_duration"),
            optional=("profile_digest",),
        )
        approvals = r.integer(table, "approvals", prefix=where + ".")
        duration_text = r.string(table, "max_duration", prefix=where + ".")
        duration = parse_duration(duration_text, what=f"{source}: {where}.max_duration")
        digest = b""
        if "profile_digest" in table:
            digest_text = r.string(table, "profile_digest", prefix=where + ".")
            if not _HEX64.fullmatch(digest_text):
                raise FormatError(f"{source}: {where}.profile_digest: expected 64 hex digits")
            digest = bytes.fromhex(digest_text)
        try:
            targets.append(TargetRule(name, approvals, duration, digest))
        except FormatError as exc:
            raise FormatError(f"{source}: {exc}") from exc
    max_age = None
    if "max_tree_head_age" in doc:
        max_age = parse_duration(
            r.string(doc, "max_tree_head_age"), what=f"{source}: max_tree_head_age"
        )
    announce = "announce_sessions" in doc and bool(
        r.get(doc, "announce_sessions", bool, "a boolean")
    )
    wait = DEFAULT_ANNOUNCE_WAIT
    if "announce_wait" in doc:
        if not announce:
            raise FormatError(f"{source}: announce_wait: needs announce_sessions = true")
        wait = parse_duration(r.string(doc, "announce_wait"), what=f"{source}: announce_wait")
    try:
        return ControlPolicy(
            log_key,
            tuple(approvers),
            tuple(targets),
            text,
            max_tree_head_age=max_age,
            announce_sessions=announce,
            announce_wait=wait,
        )
    except FormatError as exc:
        raise FormatError(f"{source}: {exc}") from exc


class _Reader(FieldReader):
    """Typed access to a parsed policy, with errors naming the file and dotted key."""

    def pubkey(self, table: dict[str, Any], key: str, prefix: str = "") -> VerifyKey:
        text = self.string(table, key, prefix)
        return VerifyKey.from_text(text, source=f"{self.source}: {prefix}{key}")
