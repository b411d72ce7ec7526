"""The canonical encoding of a profile and its digest.

What is hashed is never the TOML text. It is::

    b"sealog/profile/v1\\n" + UTF-8(JSON(canonical_dict(profile)))

where the JSON is written with ``sort_keys=True``, ``separators=(",", ":")`` and
``ensure_ascii=False``, and :func:`canonical_dict` holds every field of the fully resolved
profile (defaults filled in, levels as names, enumerations as their values, regular expressions
as their pattern strings, rates and intervals as JSON floats, the flight recorder as ``null``
when it is off, and ``lines`` only when it differs from its defaults, so that profiles written
before it existed keep their digest). So key order, comments, whitespace, ``1`` against
``1.0`` and whether a default was written out or left implicit do not change the digest; any
change of meaning does.

Only the standard library is used: this module is imported inside workload processes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sealog._strict import canonical_json
from sealog.errors import FormatError
from sealog.profile._model import LEVELS, Destination, LineSettings, Profile, StreamSettings

__all__ = ["DIGEST_PREFIX", "canonical_bytes", "canonical_dict", "profile_digest"]

#: Domain separation: a profile digest can never be confused with a digest of anything else.
DIGEST_PREFIX = b"sealog/profile/v1\n"

_LEVEL_NAMES = {number: name for name, number in LEVELS.items()}


def _level_name(number: int, path: str) -> str:
    try:
        return _LEVEL_NAMES[number]
    except KeyError:
        raise FormatError(
            f"{path}: level {number} has no name (expected one of {', '.join(LEVELS)})"
        ) from None


def _destination(dest: Destination, path: str) -> dict[str, Any]:
    return {
        "min_level": _level_name(dest.min_level, f"{path}.min_level"),
        "sources": list(dest.sources),
        "traceback": dest.traceback.value,
        "redact_fields": list(dest.redact_fields),
        "redact_patterns": [pattern.pattern for pattern in dest.redact_patterns],
        "rate_limit": float(dest.rate_limit),
    }


def _stream(stream: StreamSettings) -> dict[str, Any]:
    return {
        "bucket": int(stream.bucket),
        "flush_interval": float(stream.flush_interval),
        "padding": bool(stream.padding),
        "cover_traffic": bool(stream.cover_traffic),
        "checkpoint_every": int(stream.checkpoint_every),
        "epoch_frames": int(stream.epoch_frames),
        "max_backlog": int(stream.max_backlog),
        "overflow": stream.overflow.value,
        "step_levels": [int(x) for x in stream.step_levels],
        "step_hold": float(stream.step_hold),
        "pad_multiple": int(stream.pad_multiple),
    }


def _lines(lines: LineSettings) -> dict[str, Any]:
    return {
        "stdout": _level_name(lines.stdout, "lines.stdout"),
        "stderr": _level_name(lines.stderr, "lines.stderr"),
        "understand": bool(lines.understand),
        "group_lines": int(lines.group_lines),
        "group_bytes": int(lines.group_bytes),
        "patterns": [
            {
                "match": p.match.pattern,
                "level": None if p.level is None else _level_name(p.level, "lines.patterns"),
            }
            for p in lines.patterns
        ],
    }


def canonical_dict(profile: Profile) -> dict[str, Any]:
    """Every field of ``profile`` as JSON-ready values, the input of :func:`canonical_bytes`.

    The keys are the :class:`~sealog.profile.Profile` field names; destinations and stream
    settings are nested objects with their own field names. ``ring`` is ``null`` and
    ``ring_records`` is ``0`` when the flight recorder is off. ``lines`` is present only when
    it differs from :class:`~sealog.profile.LineSettings`' defaults.

    Args:
        profile: the profile.

    Returns:
        A new dictionary of JSON types only.

    Raises:
        sealog.FormatError: a destination holds a level number that has no standard name (only
            possible for a profile built by hand rather than by the loader).
    """
    out: dict[str, Any] = {
        "name": profile.name,
        "stage": profile.stage.value,
        "description": profile.description,
        "reveal_secrets": bool(profile.reveal_secrets),
        "production_secrets": bool(profile.production_secrets),
        "trace": bool(profile.trace),
        "host": profile.host.value,
        "host_rules": _destination(profile.host_rules, "host_rules"),
        "owner": _destination(profile.owner, "owner"),
        "ring": None if profile.ring is None else _destination(profile.ring, "ring"),
        "ring_records": int(profile.ring_records),
        "stream": _stream(profile.stream),
    }
    if profile.lines != LineSettings():
        out["lines"] = _lines(profile.lines)
    return out


def canonical_bytes(profile: Profile) -> bytes:
    """The exact bytes a profile digest is computed over.

    ``b"sealog/profile/v1\\n"`` followed by the UTF-8 encoding of
    ``json.dumps(canonical_dict(profile), sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)``.

    Args:
        profile: the profile.

    Returns:
        The canonical encoding.

    Raises:
        sealog.FormatError: see :func:`canonical_dict`.
    """
    return DIGEST_PREFIX + canonical_json(canonical_dict(profile))


def profile_digest(profile: Profile) -> bytes:
    """The profile's 32-byte digest: SHA-256 over :func:`canonical_bytes`.

    This is the value bound into a session's launch configuration and attestation report data.

    Args:
        profile: the profile.

    Returns:
        32 bytes.

    Raises:
        sealog.FormatError: see :func:`canonical_dict`.
    """
    return hashlib.sha256(canonical_bytes(profile)).digest()
