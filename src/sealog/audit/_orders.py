"""Change orders: M-of-N signed, time-boxed requests to switch a Keep's profile.

Three encodings, kept apart on purpose:

* **What approvers sign** (:meth:`ChangeOrder.signed_bytes`): ``b"sealog/order/v1\\n"`` followed
  by the sorted, compact JSON of the order *body* (no signatures). :func:`order_digest` is
  SHA-256 over exactly these bytes, so it names what the approvers agreed to.
* **What the audit log stores** (:meth:`ChangeOrder.entry_bytes`): ``b"sealog/order-entry/v1\\n"``
  followed by the sorted, compact JSON of ``{"body": ..., "signatures": [...]}`` with the
  signatures sorted by key id then signature. The log thus records who approved, and a Keep
  checks the inclusion of exactly the signatures it counts.
* **The file** (:meth:`ChangeOrder.to_json`): indented JSON with ``body`` and ``signatures``.

A Keep applies an order only through :func:`check_order`, the single entry point, which runs the
checks in a fixed order and raises :class:`~sealog.errors.PolicyError` at the first that fails.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sealog._files import atomic_write, read_bytes
from sealog._strict import canonical_json, strict_json
from sealog.audit._inclusion import check_entry_proof, check_tree_head
from sealog.audit._keys import SigningKey
from sealog.audit._log import SignedTreeHead
from sealog.audit._policy import ControlPolicy, format_duration
from sealog.errors import FormatError, PolicyError

__all__ = [
    "ALL_KEEPS",
    "ChangeOrder",
    "OrderApproval",
    "OrderBundle",
    "OrderInclusion",
    "OrderSignature",
    "check_order",
    "format_time",
    "order_digest",
]

#: The ``keep`` value of an order meant for every Keep under the policy.
ALL_KEEPS = "*"
_ORDER_FORMAT = "sealog-order/v1"
_BUNDLE_FORMAT = "sealog-order-bundle/v1"
_SIGN_DOMAIN = b"sealog/order/v1\n"
_ENTRY_DOMAIN = b"sealog/order-entry/v1\n"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_NONCE = re.compile(r"^[0-9a-f]{32}$")
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_MAX_REASON = 2000
_T = TypeVar("_T")


def format_time(value: datetime) -> str:
    """``2025-01-31T12:00:00Z``: the one text form of order times."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: object, what: str, source: str) -> datetime:
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise FormatError(
            f"{source}: {what}: expected a UTC time like 2025-01-31T12:00:00Z, got {value!r}"
        )
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise FormatError(f"{source}: {what}: not a valid date and time: {value!r}") from exc


def _fields(obj: object, required: set[str], where: str, source: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise FormatError(f"{source}: {where}: expected a JSON object, got {type(obj).__name__}")
    for key in obj:
        if key not in required:
            expected = ", ".join(sorted(required))
            raise FormatError(f"{source}: unknown key {where}.{key} (expected one of {expected})")
    for key in sorted(required):
        if key not in obj:
            raise FormatError(f"{source}: missing key {where}.{key}")
    return obj


def _typed(obj: dict[str, Any], key: str, kind: type, where: str, source: str) -> Any:
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FormatError(
            f"{source}: {where}.{key}: expected {kind.__name__}, got {type(value).__name__}"
        )
    return value


def _unb64(value: str, what: str, source: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"{source}: {what}: not valid base64") from exc


@dataclass(frozen=True, order=True)
class OrderSignature:
    """One approver's Ed25519 signature over an order's body.

    Attributes:
        key_id: the signing key's id (16 hex digits).
        signature: the 64-byte signature over :meth:`ChangeOrder.signed_bytes`.
    """

    key_id: str
    signature: bytes

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.key_id):
            raise FormatError(f"signature key id: expected 16 hex digits, got {self.key_id!r}")
        if len(self.signature) != 64:
            raise FormatError(f"signature is {len(self.signature)} bytes, expected 64")

    def to_dict(self) -> dict[str, str]:
        """The JSON object form."""
        return {"key_id": self.key_id, "signature": base64.b64encode(self.signature).decode()}


@dataclass(frozen=True)
class ChangeOrder:
    """A request to switch Keeps to a profile for a window of time, with its signatures.

    The constructor checks every field; build orders with :meth:`create`, :meth:`from_json` or
    :meth:`load`.

    Attributes:
        keep: the Keep id the order is for, or ``"*"`` for every Keep under the policy.
        profile: the target profile's name.
        not_before: start of the validity window (UTC, whole seconds, inclusive).
        not_after: end of the window (UTC, whole seconds, exclusive), after ``not_before``.
        nonce: 16 random bytes in hex; a Keep applies an order with a given nonce once.
        reason: why, for the people reading the audit log.
        flight_recorder: ask the Keep to seal its flight-recorder ring to the owner.
        signatures: the approvers' signatures over the body, in the order they were added.
    """

    keep: str
    profile: str
    not_before: datetime
    not_after: datetime
    nonce: str
    reason: str
    flight_recorder: bool = False
    signatures: tuple[OrderSignature, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.keep != ALL_KEEPS and not _NAME.fullmatch(self.keep):
            raise FormatError(f"keep: expected a Keep id or '*', got {self.keep!r}")
        if not _NAME.fullmatch(self.profile):
            raise FormatError(f"profile: expected a profile name, got {self.profile!r}")
        for name in ("not_before", "not_after"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() != timedelta(0):
                raise FormatError(f"{name}: expected a UTC time, got {value.isoformat()}")
            if value.microsecond:
                raise FormatError(f"{name}: expected whole seconds, got {value.isoformat()}")
        if self.not_after <= self.not_before:
            raise FormatError(
                f"not_after ({format_time(self.not_after)}) must be later than "
                f"not_before ({format_time(self.not_before)})"
            )
        if not _NONCE.fullmatch(self.nonce):
            raise FormatError(f"nonce: expected 32 lowercase hex digits, got {self.nonce!r}")
        if not self.reason.strip() or len(self.reason) > _MAX_REASON:
            raise FormatError(f"reason: expected 1 to {_MAX_REASON} characters of text")

    @classmethod
    def create(
        cls,
        *,
        keep: str,
        profile: str,
        not_before: datetime,
        duration: timedelta,
        reason: str,
        flight_recorder: bool = False,
        nonce: str | None = None,
    ) -> ChangeOrder:
        """A new, unsigned order valid from ``not_before`` for ``duration``.

        Args:
            keep: a Keep id, or ``"*"`` for every Keep.
            profile: the target profile name.
            not_before: the window's start (aware; converted to UTC).
            duration: the window's length (whole seconds, > 0).
            reason: why.
            flight_recorder: ask the Keep to seal its flight recorder to the owner.
            nonce: 32 hex digits; fresh random by default.

        Raises:
            FormatError: a field is out of range.
        """
        if not_before.tzinfo is None:
            raise FormatError("not_before: expected a time with a time zone")
        try:
            start = not_before.astimezone(UTC)
            end = start + duration
        except OverflowError as exc:
            raise FormatError("not_after: the window ends past the year 9999") from exc
        return cls(
            keep=keep,
            profile=profile,
            not_before=start,
            not_after=end,
            nonce=nonce if nonce is not None else os.urandom(16).hex(),
            reason=reason,
            flight_recorder=flight_recorder,
        )

    @property
    def duration(self) -> timedelta:
        """The length of the validity window."""
        return self.not_after - self.not_before

    def body(self) -> dict[str, Any]:
        """The order body as a JSON value: everything but the signatures."""
        return {
            "format": _ORDER_FORMAT,
            "keep": self.keep,
            "profile": self.profile,
            "not_before": format_time(self.not_before),
            "not_after": format_time(self.not_after),
            "nonce": self.nonce,
            "reason": self.reason,
            "flight_recorder": self.flight_recorder,
        }

    def signed_bytes(self) -> bytes:
        """What every approver signs: the domain prefix and the canonical body."""
        return _SIGN_DOMAIN + canonical_json(self.body())

    def entry_bytes(self) -> bytes:
        """What the audit log stores (and the Keep's inclusion check hashes) for this order."""
        sigs = [s.to_dict() for s in sorted(self.signatures)]
        return _ENTRY_DOMAIN + canonical_json({"body": self.body(), "signatures": sigs})

    @classmethod
    def from_entry_bytes(cls, data: bytes, *, source: str = "audit log entry") -> ChangeOrder:
        """Parse what :meth:`entry_bytes` produced (to read orders back from the audit log).

        Raises:
            FormatError: the entry is not a change order.
        """
        if not data.startswith(_ENTRY_DOMAIN):
            raise FormatError(f"{source}: not a change order entry")
        order = cls.from_json(data[len(_ENTRY_DOMAIN) :], source=source)
        if order.entry_bytes() != data:
            raise FormatError(f"{source}: change order entry is not in canonical form")
        return order

    def sign(self, key: SigningKey) -> ChangeOrder:
        """This order with one more signature, by ``key``.

        Raises:
            FormatError: ``key`` has already signed this order.
        """
        key_id = key.key_id
        if any(s.key_id == key_id for s in self.signatures):
            raise FormatError(f"order is already signed by key {key_id}")
        signature = OrderSignature(key_id, key.sign(self.signed_bytes()))
        return replace(self, signatures=(*self.signatures, signature))

    def to_dict(self) -> dict[str, Any]:
        """The file's JSON object."""
        return {"body": self.body(), "signatures": [s.to_dict() for s in self.signatures]}

    def to_json(self) -> str:
        """The file's text: indented JSON with a line end."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, obj: object, *, source: str = "change order") -> ChangeOrder:
        """Parse the JSON object form.

        Raises:
            FormatError: an unknown, missing or malformed field.
        """
        top = _fields(obj, {"body", "signatures"}, "order", source)
        body = _fields(
            top["body"],
            {
                "format",
                "keep",
                "profile",
                "not_before",
                "not_after",
                "nonce",
                "reason",
                "flight_recorder",
            },
            "body",
            source,
        )
        if body["format"] != _ORDER_FORMAT:
            raise FormatError(
                f"{source}: body.format: expected {_ORDER_FORMAT!r}, got {body['format']!r}"
            )
        raw_sigs = _typed(top, "signatures", list, "order", source)
        signatures = []
        for i, item in enumerate(raw_sigs):
            where = f"signatures[{i}]"
            sig = _fields(item, {"key_id", "signature"}, where, source)
            key_id = _typed(sig, "key_id", str, where, source)
            raw = _unb64(_typed(sig, "signature", str, where, source), f"{where}.signature", source)
            signatures.append(_wrap(source, OrderSignature, key_id, raw))
        return _wrap(
            source,
            lambda: cls(
                keep=_typed(body, "keep", str, "body", source),
                profile=_typed(body, "profile", str, "body", source),
                not_before=_parse_time(body["not_before"], "body.not_before", source),
                not_after=_parse_time(body["not_after"], "body.not_after", source),
                nonce=_typed(body, "nonce", str, "body", source),
                reason=_typed(body, "reason", str, "body", source),
                flight_recorder=_typed(body, "flight_recorder", bool, "body", source),
                signatures=tuple(signatures),
            ),
        )

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "change order") -> ChangeOrder:
        """Parse an order file's text.

        Raises:
            FormatError: not JSON or not an order.
        """
        return cls.from_dict(_json(text, source), source=source)

    @classmethod
    def load(cls, path: Path) -> ChangeOrder:
        """Read an order file.

        Raises:
            FormatError: missing, unreadable or malformed file.
        """
        return cls.from_json(read_bytes(path), source=str(path))

    def save(self, path: Path) -> None:
        """Write the order file atomically (a temporary file renamed over ``path``)."""
        atomic_write(path, self.to_json())


def order_digest(order: ChangeOrder) -> bytes:
    """SHA-256 over :meth:`ChangeOrder.signed_bytes`: names the body the approvers signed."""
    return hashlib.sha256(order.signed_bytes()).digest()


@dataclass(frozen=True)
class OrderInclusion:
    """The proof that an order is in the audit log.

    Attributes:
        leaf_index: the order's entry index in the log.
        proof: the RFC 9162 inclusion path for the tree head's size.
        tree_head: the log's signed tree head the proof leads to.
    """

    leaf_index: int
    proof: tuple[bytes, ...]
    tree_head: SignedTreeHead


@dataclass(frozen=True)
class OrderBundle:
    """A signed order with its proof of inclusion: what is delivered to the Keep.

    Attributes:
        order: the signed order.
        inclusion: its proof of inclusion in the audit log.
    """

    order: ChangeOrder
    inclusion: OrderInclusion

    def to_json(self) -> str:
        """The bundle file's text (indented JSON with a line end)."""
        obj = {
            "format": _BUNDLE_FORMAT,
            "order": self.order.to_dict(),
            "leaf_index": self.inclusion.leaf_index,
            "inclusion_proof": [base64.b64encode(p).decode() for p in self.inclusion.proof],
            "tree_head": self.inclusion.tree_head.to_dict(),
        }
        return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "order bundle") -> OrderBundle:
        """Parse a bundle file's text.

        Raises:
            FormatError: not JSON or not a bundle.
        """
        top = _fields(
            _json(text, source),
            {"format", "order", "leaf_index", "inclusion_proof", "tree_head"},
            "bundle",
            source,
        )
        inclusion = bundle_inclusion(top, _BUNDLE_FORMAT, source)
        return cls(ChangeOrder.from_dict(top["order"], source=source), inclusion)

    @classmethod
    def load(cls, path: Path) -> OrderBundle:
        """Read a bundle file.

        Raises:
            FormatError: missing, unreadable or malformed file.
        """
        return cls.from_json(read_bytes(path), source=str(path))

    def save(self, path: Path) -> None:
        """Write the bundle file atomically."""
        atomic_write(path, self.to_json())


@dataclass(frozen=True)
class OrderApproval:
    """An order that passed every check of :func:`check_order`: what the Keep applies and seals.

    Attributes:
        target: the profile to switch to.
        keep: the order's ``keep`` field (a Keep id or ``"*"``).
        approvers: the names of the distinct policy approvers whose signatures verified, sorted.
        not_before: the window's start.
        expires: the window's end; the Keep reverts by itself at this time.
        digest: :func:`order_digest` of the order.
        nonce: the order's nonce, for the Keep's list of seen nonces.
        reason: the order's reason.
        flight_recorder: whether the order asks to seal the flight recorder to the owner.
        leaf_index: the order's index in the audit log.
        tree_size: the size of the tree head the inclusion was proven under.
    """

    target: str
    keep: str
    approvers: tuple[str, ...]
    not_before: datetime
    expires: datetime
    digest: bytes
    nonce: str
    reason: str
    flight_recorder: bool
    leaf_index: int
    tree_size: int


def check_order(
    order: ChangeOrder,
    policy: ControlPolicy,
    *,
    keep_id: str,
    now: datetime,
    seen_nonces: Collection[str],
    inclusion: OrderInclusion,
    last_tree_head: SignedTreeHead | None = None,
) -> OrderApproval:
    """Decide whether a Keep may apply a change order; the single entry point for that decision.

    The checks run in this order and the first failure raises:

    1. the target profile is one the policy lists under ``targets``;
    2. enough distinct policy approvers signed: signatures by keys outside the policy and
       repeated signatures by one approver do not count; a signature by a policy key that does
       not verify is an error (the order was changed after signing, or forged);
    3. ``now`` is within ``[not_before, not_after)``;
    4. the window is no longer than the target's ``max_duration``;
    5. the nonce is not in ``seen_nonces`` (no replay);
    6. ``keep`` is ``keep_id`` or ``"*"``;
    7. the tree head's signature verifies with the policy's ``audit_log_key``, it is not older
       (smaller or earlier) than ``last_tree_head``, the newest one this Keep accepted, and
       not older than the policy's ``max_tree_head_age`` at ``now``, when the policy sets one;
    8. the inclusion proof shows ``leaf_hash(order.entry_bytes())`` at ``leaf_index`` under
       the tree head's root (RFC 9162 2.1.3.2).

    Args:
        order: the signed order.
        policy: the Keep's control policy (from its launch configuration).
        keep_id: this Keep's id.
        now: the current time (aware); injected so that tests and replays control it.
        seen_nonces: nonces of orders this Keep has applied before.
        inclusion: the order's leaf index, inclusion proof and signed tree head.
        last_tree_head: the newest tree head this Keep accepted with an earlier order.

    Returns:
        The approval, to apply and to seal into the stream.

    Raises:
        PolicyError: any check fails; the message says expected against actual.
        FormatError: ``now`` has no time zone.
    """
    if now.tzinfo is None:
        raise FormatError("now: expected a time with a time zone")
    # Step 1: the policy must allow switching to this profile at all.
    rule = policy.target(order.profile)
    if rule is None:
        allowed = ", ".join(r.profile for r in policy.targets) or "none"
        raise PolicyError(
            f"change order targets profile {order.profile!r}, which the control policy does "
            f"not allow (allowed: {allowed})"
        )
    # Step 2: count distinct policy approvers with valid signatures.
    message = order.signed_bytes()
    approved: dict[str, str] = {}
    for sig in order.signatures:
        approver = policy.approver_by_key_id(sig.key_id)
        if approver is None:
            continue  # a key outside the policy adds nothing, but is no reason to refuse
        if not approver.key.verify(sig.signature, message):
            raise PolicyError(
                f"change order signature by approver {approver.name!r} does not verify "
                "(order changed after signing, or forged)"
            )
        approved[approver.key_id] = approver.name
    if len(approved) < rule.approvals:
        raise PolicyError(
            f"change order signed by {len(approved)} of {rule.approvals} required approvers "
            f"for profile {order.profile!r}"
        )
    # Step 3: the validity window, half-open so that consecutive orders never overlap.
    now = now.astimezone(UTC)
    if now < order.not_before:
        raise PolicyError(
            f"change order is not valid before {format_time(order.not_before)} "
            f"(now {format_time(now)})"
        )
    if now >= order.not_after:
        raise PolicyError(
            f"change order expired at {format_time(order.not_after)} (now {format_time(now)})"
        )
    # Step 4: the window may not exceed what the policy allows for this target.
    if order.duration > rule.max_duration:
        raise PolicyError(
            f"change order window is {format_duration(order.duration)}, longer than the "
            f"{format_duration(rule.max_duration)} the control policy allows for "
            f"{order.profile!r}"
        )
    # Step 5: an order is applied once; a replayed one is refused.
    if order.nonce in seen_nonces:
        raise PolicyError(f"change order nonce {order.nonce} was already used (replayed order)")
    # Step 6: the order must name this Keep, or all Keeps.
    if order.keep not in (keep_id, ALL_KEEPS):
        raise PolicyError(f"change order is for Keep {order.keep!r}, this is Keep {keep_id!r}")
    # Step 7: the tree head must come from the policy's log, and be fresh; step 8: the order,
    # with exactly these signatures, must be in that log (the checks shared with announcements).
    sth = inclusion.tree_head
    check_tree_head(sth, policy.audit_log_key)
    if last_tree_head is not None and (
        sth.size < last_tree_head.size or sth.timestamp < last_tree_head.timestamp
    ):
        raise PolicyError(
            f"audit log tree head of size {sth.size} is older than the one of size "
            f"{last_tree_head.size} this Keep has seen (a rolled-back log view)"
        )
    if policy.max_tree_head_age is not None:
        age_ms = int(now.timestamp() * 1000) - sth.timestamp
        if age_ms > policy.max_tree_head_age.total_seconds() * 1000:
            raise PolicyError(
                f"audit log tree head is {age_ms // 1000}s old, older than the "
                f"{format_duration(policy.max_tree_head_age)} the control policy allows"
            )
    check_entry_proof(
        order.entry_bytes(),
        leaf_index=inclusion.leaf_index,
        proof=inclusion.proof,
        tree_head=sth,
        what="change order",
    )
    return OrderApproval(
        target=order.profile,
        keep=order.keep,
        approvers=tuple(sorted(approved.values())),
        not_before=order.not_before,
        expires=order.not_after,
        digest=order_digest(order),
        nonce=order.nonce,
        reason=order.reason,
        flight_recorder=order.flight_recorder,
        leaf_index=inclusion.leaf_index,
        tree_size=sth.size,
    )


def _wrap(source: str, build: Callable[..., _T], *args: Any) -> _T:
    # Constructors raise FormatError without the file name; add it once here.
    try:
        return build(*args)
    except FormatError as exc:
        if str(exc).startswith(f"{source}:"):
            raise
        raise FormatError(f"{source}: {exc}") from exc


def _json(text: str | bytes, source: str) -> Any:
    return strict_json(text, source)


def bundle_inclusion(top: dict[str, Any], expected_format: str, source: str) -> OrderInclusion:
    """The format check and the proof of inclusion every bundle carries (orders and session
    announcements alike): ``format``, ``leaf_index``, ``inclusion_proof``, ``tree_head``.

    Raises:
        FormatError: a wrong format, a negative index, a proof that is not base64 strings, or
            a malformed tree head.
    """
    if top["format"] != expected_format:
        raise FormatError(f"{source}: format: expected {expected_format!r}, got {top['format']!r}")
    index = _typed(top, "leaf_index", int, "bundle", source)
    if index < 0:
        raise FormatError(f"{source}: bundle.leaf_index: expected >= 0, got {index}")
    proof = []
    for i, item in enumerate(_typed(top, "inclusion_proof", list, "bundle", source)):
        if not isinstance(item, str):
            raise FormatError(f"{source}: inclusion_proof[{i}]: expected a base64 string")
        proof.append(_unb64(item, f"inclusion_proof[{i}]", source))
    sth = SignedTreeHead.from_dict(top["tree_head"], source=f"{source}: tree_head")
    return OrderInclusion(index, tuple(proof), sth)
