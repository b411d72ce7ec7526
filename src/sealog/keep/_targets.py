"""Change-order targets, resolved once at launch and bound to the digests the policy names.

The control policy binds every target to a profile digest (:class:`~sealog.audit.TargetRule`).
The Keep reads each target's profile here, before the workload starts, and keeps the profile
and its TOML text in memory: a switch hands the workload that text, never a name to look up.
Nothing is read from the working folder when an order arrives, so a profile the host plants
there under a target's name is never used, and one planted before launch is refused because
its digest is not the policy's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sealog._display import printable
from sealog._files import DOCUMENT_LIMIT, read_text
from sealog.errors import Error, FormatError, PolicyError
from sealog.profile import Profile, builtin_names, builtin_text, parse_profile, profile_digest

if TYPE_CHECKING:
    # A type only: a Keep without a control policy never loads the control process.
    from sealog.audit._policy import ControlPolicy

__all__ = ["BoundProfile", "bind_profile", "bind_targets", "launch_text"]


@dataclass(frozen=True)
class BoundProfile:
    """A profile read once, with the text the workload parses the same profile from.

    Attributes:
        profile: the checked profile.
        text: its TOML text.
        digest: its digest.
    """

    profile: Profile
    text: str
    digest: bytes


def bind_profile(ref: str, digest: bytes) -> BoundProfile:
    """Read profile ``ref`` (a built-in name or a file) and check it has ``digest``.

    Raises:
        FormatError: unreadable or not a profile.
        PolicyError: a profile with another digest (swapped or planted).
    """
    if ref in builtin_names():
        text = builtin_text(ref)
    else:
        text = read_text(Path(ref), "a profile file", limit=DOCUMENT_LIMIT)
    profile = parse_profile(text, source=ref)
    actual = profile_digest(profile)
    if actual != digest:
        raise PolicyError(
            f"profile {printable(ref)} has digest {actual.hex()[:16]}…, "
            f"the launch configuration binds {digest.hex()[:16]}…"
        )
    return BoundProfile(profile, text, actual)


def bind_targets(policy: ControlPolicy) -> dict[str, BoundProfile | Error]:
    """Every target of ``policy``, bound now, or the reason it cannot be (orders for it are
    then refused)."""
    bound: dict[str, BoundProfile | Error] = {}
    for rule in policy.targets:
        try:
            bound[rule.profile] = bind_profile(rule.profile, rule.profile_digest)
        except Error as exc:
            bound[rule.profile] = type(exc)(f"target {rule.profile}: {exc}")
    return bound


def launch_text(profile: Profile, ref: str) -> str | None:
    """The TOML text of the launch profile, for the workload to parse instead of finding the
    file again; None when ``ref`` names no readable profile (one built in code).

    Raises:
        PolicyError: the file at ``ref`` no longer holds the profile the session was started
            with (swapped since launch): the workload must not run under another one.
    """
    try:
        return bind_profile(ref, profile_digest(profile)).text
    except FormatError:
        return None
