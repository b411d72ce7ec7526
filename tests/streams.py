"""Helpers for tests that build sealed sessions through the library."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sealog.profile._model import Destination, Profile, Stage, StreamSettings
from sealog.seal._evidence import Evidence

__all__ = ["SessionMaker", "none_evidence", "plain_profile"]

SessionMaker = Callable[..., tuple[Path, str]]


def none_evidence(report_data: bytes) -> Evidence:
    """Evidence that proves nothing (the tests' stand-in for a development Keep)."""
    return Evidence("none", "none", report_data, b"no attestation: proves nothing")


def plain_profile(**stream: object) -> Profile:
    """A production-stage profile that seals DEBUG and up, with the stream settings given."""
    settings = StreamSettings(**{"flush_interval": 3600.0, **stream})  # type: ignore[arg-type]
    return Profile(
        name="test", stage=Stage.PRODUCTION, owner=Destination(min_level=10), stream=settings
    )
