"""The profile model: what goes to whom at one stage of a deployment.

Profiles are frozen dataclasses, built only by the strict loader (``_loader.py``) or by code
that passes fully checked values. Their digest is over a canonical encoding (``_digest.py``),
never over the TOML text, so key order, comments and whitespace do not change it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "LADDER",
    "LEVELS",
    "SOURCES",
    "Destination",
    "HostClear",
    "LinePattern",
    "LineSettings",
    "Overflow",
    "Profile",
    "Stage",
    "StreamSettings",
    "TracebackMode",
]

#: Level names a profile may use, with their stdlib numbers.
LEVELS: dict[str, int] = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}

#: Where a record comes from.
SOURCES: tuple[str, ...] = ("workload", "runtime", "sealog")


class Stage(StrEnum):
    """The deployment stage a profile is written for."""

    DEVELOPMENT = "development"
    TESTING = "testing"
    STAGING = "staging"
    PRODUCTION = "production"
    INCIDENT = "incident"


#: Stages from the least to the most strict, for "at least as strict as" questions.
#: ``incident`` is a time-boxed elevation of production: it seals DEBUG and full tracebacks,
#: so it ranks below staging.
LADDER: tuple[Stage, ...] = (
    Stage.DEVELOPMENT,
    Stage.TESTING,
    Stage.INCIDENT,
    Stage.STAGING,
    Stage.PRODUCTION,
)


class TracebackMode(StrEnum):
    """How much of an exception leaves for a destination."""

    FULL = "full"  # type, message, every frame with its source line
    REDACTED = "redacted"  # type and frame locations; message through the redaction rules
    NONE = "none"  # type only


class Overflow(StrEnum):
    """What a constant-rate stream does when its backlog cannot drain in time."""

    DROP = "drop"  # one rate; past the backlog bound records are dropped and counted
    STEP = "step"  # the rate moves between a few fixed levels, each held a minimum time


class HostClear(StrEnum):
    """What the host channel carries in clear."""

    RECORDS = "records"  # plain log lines (development only)
    EVENTS_AND_CODES = "events+codes"  # lifecycle events plus generic error codes
    EVENTS = "events"  # lifecycle events only


@dataclass(frozen=True)
class Destination:
    """Rules for one destination: the host in clear, the owner (sealed) or the flight recorder.

    Attributes:
        min_level: the lowest level that reaches this destination (stdlib number).
        sources: the record sources let through.
        traceback: how exceptions are rendered.
        redact_fields: extra-field names whose values are replaced by ``[redacted]``
            (compared case-insensitively).
        redact_patterns: compiled regular expressions; each match in a message, a rendered
            argument or a string field is replaced by ``[redacted]``.
        rate_limit: records per second let through (token bucket of one second); 0 is no limit.
    """

    min_level: int = logging.INFO
    sources: tuple[str, ...] = SOURCES
    traceback: TracebackMode = TracebackMode.REDACTED
    redact_fields: tuple[str, ...] = ()
    redact_patterns: tuple[re.Pattern[str], ...] = ()
    rate_limit: float = 0.0


@dataclass(frozen=True)
class StreamSettings:
    """How sealed frames leave the Keep.

    Attributes:
        bucket: the plaintext size of every frame when ``padding`` is on, in bytes.
        flush_interval: seconds between scheduled flushes (and cover frames).
        padding: pad every frame to ``bucket`` bytes.
        cover_traffic: emit one frame every interval whether or not there is anything to say,
            and never an extra one (ERROR records wait for the next tick inside the Keep).
        checkpoint_every: frames between signed checkpoints of the chain head.
        epoch_frames: frames per key epoch; the key ratchets forward after that many.
        max_backlog: bytes of sealed-but-unsent records held inside the Keep before records are
            dropped and counted (only bites under cover traffic, where capacity is fixed).
        overflow: what happens when the backlog cannot drain at the base rate (cover traffic
            only): ``drop`` keeps the rate constant and drops past ``max_backlog``, counted
            exactly; ``step`` also moves the rate between ``step_levels``, each level held for
            ``step_hold`` seconds at least (docs/performance.md says what each tells the host).
        step_levels: the rate ladder for ``step``: frames per interval at each level, from 1 up.
        step_hold: seconds a rate level is held before it may change (a whole number of
            intervals).
        pad_multiple: a session under cover traffic ends with a frame count that is a multiple
            of this (the closing frame included), so its end tells the host only that count.
    """

    bucket: int = 4096
    flush_interval: float = 1.0
    padding: bool = False
    cover_traffic: bool = False
    checkpoint_every: int = 32
    epoch_frames: int = 64
    max_backlog: int = 4 * 1024 * 1024
    overflow: Overflow = Overflow.DROP
    step_levels: tuple[int, ...] = (1,)
    step_hold: float = 60.0
    pad_multiple: int = 1


@dataclass(frozen=True)
class LinePattern:
    """A profile's own rule for the level of a captured line (tried before the built-in formats).

    Attributes:
        match: searched in each line; when it matches, the line gets ``level``, or, when
            ``level`` is None, the level named by the pattern's ``level`` group (``E``, ``err``,
            ``error``, ``warn``, ... as the built-in formats read them).
        level: the level it gives (stdlib number), or None to read it from the ``level`` group.
    """

    match: re.Pattern[str]
    level: int | None = None


@dataclass(frozen=True)
class LineSettings:
    """How captured stdout and stderr lines are understood (``docs/runtime.md``).

    Attributes:
        stdout: the level of a stdout line in which no level is found.
        stderr: the same for stderr.
        understand: read levels, fields and multi-line groups from lines; when false every
            line is one record at its stream's level, as it was printed.
        group_lines: the most lines one multi-line record (a traceback, a panic) keeps;
            further lines of the same group are counted, not kept.
        group_bytes: the same bound in bytes of text.
        patterns: the profile's own level rules, tried in order before the built-in formats.
    """

    stdout: int = logging.INFO
    stderr: int = logging.WARNING
    understand: bool = True
    group_lines: int = 200
    group_bytes: int = 64 * 1024
    patterns: tuple[LinePattern, ...] = ()


@dataclass(frozen=True)
class Profile:
    """One stage profile (DESIGN.md section 3).

    Attributes:
        name: the profile's name (``production``, or a custom name).
        stage: the stage it is written for; decides its place on the ladder.
        description: one line for people.
        reveal_secrets: whether values marked with :func:`sealog.secret` may leave in clear
            (only a development-stage profile may say yes).
        production_secrets: whether a relying party may hand production secrets to a Keep
            running it.
        trace: whether the runtime records the workload's environment calls.
        host: the cleartext host channel.
        host_rules: rules for records shown to the host (only used with ``host = records``,
            and for which records produce error codes with ``events+codes``).
        owner: rules for records sealed to the owner.
        ring: rules for the in-Keep flight recorder, or None when it is off.
        ring_records: how many records the flight recorder keeps.
        stream: how frames leave the Keep.
        lines: how captured stdout and stderr lines are understood.
    """

    name: str
    stage: Stage
    description: str = ""
    reveal_secrets: bool = False
    production_secrets: bool = False
    trace: bool = False
    host: HostClear = HostClear.EVENTS
    host_rules: Destination = field(default_factory=Destination)
    owner: Destination = field(default_factory=Destination)
    ring: Destination | None = None
    ring_records: int = 0
    stream: StreamSettings = field(default_factory=StreamSettings)
    lines: LineSettings = field(default_factory=LineSettings)

    @property
    def rank(self) -> int:
        """Position on the ladder, 0 being the least strict."""
        return LADDER.index(self.stage)

    def at_least_as_strict_as(self, other: Profile) -> bool:
        """True when this profile's stage is at or above ``other``'s on the ladder."""
        return self.rank >= other.rank
