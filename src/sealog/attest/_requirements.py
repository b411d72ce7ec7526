"""What ``--require-profile P`` accepts: P itself, or a built-in profile at least as strict.

A profile's name and stage are the launcher's words; its digest is what the attestation binds.
A launcher can write a profile *named* ``production`` with no padding and no cover traffic, so a
requirement compares digests: the required profile's own, and those of the built-in profiles at
its stage or stricter on the ladder.
"""

from __future__ import annotations

from sealog.profile import LADDER, builtin_names, builtin_profile, profile_digest, resolve_profile

__all__ = ["strict_profile_digests"]


def strict_profile_digests(ref: str) -> tuple[str, frozenset[bytes]]:
    """The stage of profile ``ref`` and the digests of the profiles that satisfy it.

    Args:
        ref: a built-in profile name or a profile file.

    Raises:
        FormatError: ``ref`` is neither a built-in name nor a readable profile file.
    """
    required = resolve_profile(ref)
    stages = [str(stage) for stage in LADDER]
    floor = stages.index(str(required.stage))
    digests = {profile_digest(required)}
    for name in builtin_names():
        candidate = builtin_profile(name)
        if stages.index(str(candidate.stage)) >= floor:
            digests.add(profile_digest(candidate))
    return str(required.stage), frozenset(digests)
