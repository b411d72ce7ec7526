"""Where sealed streams meet NATS JetStream: addresses, subjects and the stream's settings.

A ``nats://`` source names one or more servers and a stream::

    nats://HOST:PORT[,HOST:PORT...][/STREAM]        (STREAM defaults to SEALOG)

Every session travels on three subjects under the stream's prefix::

    sealog.<STREAM>.<keep>.<session>.header    the session header (one message)
    sealog.<STREAM>.<keep>.<session>.frame     the sealed frames, in order
    sealog.<STREAM>.<keep>.<session>.event     the host-channel events, one JSON line each

Each message carries a ``Nats-Msg-Id`` (``<session>:h``, ``<session>:f:<n>``, ``<session>:e:<n>``)
so JetStream stores a retried publish once. Nothing here is trusted by the owner: subjects and
ids only route and de-duplicate; the sealed bytes say what they are.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sealog.errors import FormatError

__all__ = [
    "DEFAULT_STREAM",
    "NatsTarget",
    "StreamLimits",
    "check_stream",
    "connect",
    "ensure_stream",
    "is_nats",
    "keep_token",
    "limits_from_options",
    "msg_id",
    "parse_msg_id",
]

DEFAULT_STREAM = "SEALOG"
KINDS = ("header", "frame", "event")
_STREAM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HOSTPORT = re.compile(r"^[A-Za-z0-9._-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:]+\](:[0-9]{1,5})?$")
_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SESSION = re.compile(r"^[0-9a-f]{32}$")
_MSG_ID = re.compile(r"^([0-9a-f]{32}):(h|f:([0-9]{1,12})|e:([0-9]{1,12}))$")


def is_nats(source: str) -> bool:
    """Whether a store argument names a NATS source rather than a folder."""
    return source.startswith("nats://")


def keep_token(keep: str) -> str:
    """A Keep id as one subject token: itself when plain, else ``~`` and its hex (a Keep id
    may hold dots or spaces, which NATS subjects cannot)."""
    if _SAFE.match(keep):
        return keep
    return "~" + keep.encode("utf-8").hex()[:120]


def msg_id(session: str, kind: str, n: int = 0) -> str:
    """The ``Nats-Msg-Id`` of a session's header, ``n``-th frame or ``n``-th event."""
    return f"{session}:h" if kind == "header" else f"{session}:{kind[0]}:{n}"


def parse_msg_id(value: str | None) -> tuple[str, str, int] | None:
    """``(session, kind, n)`` from a message id, or None when it is not one of ours."""
    m = _MSG_ID.match(value or "")
    if m is None:
        return None
    if m.group(2) == "h":
        return m.group(1), "header", 0
    n = int(m.group(3) or m.group(4))
    return m.group(1), "frame" if m.group(3) else "event", n


@dataclass(frozen=True)
class NatsTarget:
    """A parsed ``nats://`` address: the servers to try and the stream to use.

    Attributes:
        servers: ``nats://HOST:PORT`` URLs (a cluster's members, any order).
        stream: the JetStream stream's name.
    """

    servers: tuple[str, ...]
    stream: str = DEFAULT_STREAM

    @classmethod
    def parse(cls, url: str) -> NatsTarget:
        """Parse ``nats://HOST:PORT[,HOST:PORT...][/STREAM]``.

        Raises:
            FormatError: not a ``nats://`` address, or a malformed host or stream name.
        """
        if not is_nats(url):
            raise FormatError(f"{url!r}: expected nats://HOST:PORT[/STREAM]")
        rest = url[len("nats://") :]
        hosts, _, stream = rest.partition("/")
        stream = stream or DEFAULT_STREAM
        if not _STREAM_NAME.match(stream):
            raise FormatError(f"{url!r}: stream name {stream!r} is not [A-Za-z0-9_-]{{1,64}}")
        servers = []
        for part in hosts.split(","):
            m = _HOSTPORT.match(part)
            if m is None:
                raise FormatError(f"{url!r}: {part!r} is not HOST:PORT")
            has_port = m.group(1) or m.group(2)
            servers.append(f"nats://{part}" if has_port else f"nats://{part}:4222")
        return cls(tuple(servers), stream)

    @property
    def prefix(self) -> str:
        """The subject prefix every message of this stream carries."""
        return f"sealog.{self.stream}"

    def subject(self, keep: str, session: str, kind: str) -> str:
        """The subject of a session's header, frames or events."""
        return f"{self.prefix}.{keep_token(keep)}.{session}.{kind}"

    def split(self, subject: str) -> tuple[str, str, str] | None:
        """``(keep token, session, kind)`` of one of this stream's subjects, else None."""
        parts = subject.split(".")
        if len(parts) != 5 or f"{parts[0]}.{parts[1]}" != self.prefix:
            return None
        keep, session, kind = parts[2:]
        if not _SESSION.match(session) or kind not in KINDS:
            return None
        return keep, session, kind

    def __str__(self) -> str:
        hosts = ",".join(s[len("nats://") :] for s in self.servers)
        return f"nats://{hosts}/{self.stream}"


@dataclass(frozen=True)
class StreamLimits:
    """The stream's retention and placement, used when the stream is created.

    Attributes:
        max_age: seconds a message is kept (0: no age limit). Default 30 days.
        max_bytes: bytes the stream may hold, oldest messages dropped first (-1: only the
            server's own storage limit). Default -1.
        replicas: copies kept on distinct servers of a cluster (1 to 5). Default 1.
        duplicate_window: seconds within which a repeated message id is stored once.
            Default 120.
        explicit: the names of the settings the caller asked for (checked on an existing
            stream; the others are taken as the stream has them).
    """

    max_age: float = 30 * 86400.0
    max_bytes: int = -1
    replicas: int = 1
    duplicate_window: float = 120.0
    explicit: frozenset[str] = field(default=frozenset(), compare=False)

    def __post_init__(self) -> None:
        if self.max_age < 0:
            raise FormatError(f"max age must be >= 0 seconds, got {self.max_age}")
        if self.max_bytes == 0 or self.max_bytes < -1:
            raise FormatError(f"max bytes must be positive or -1, got {self.max_bytes}")
        if not 1 <= self.replicas <= 5:
            raise FormatError(f"replicas must be 1 to 5, got {self.replicas}")
        if self.duplicate_window <= 0:
            raise FormatError("the duplicate window must be positive")


async def connect(
    target: NatsTarget,
    *,
    forever: bool = False,
    name: str = "sealog",
    on_disconnect: Callable[[], Awaitable[None]] | None = None,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
) -> Any:
    """A connection to the first server of ``target`` that answers.

    Args:
        target: where to connect.
        forever: once connected, keep reconnecting after a loss, however long it lasts (the
            relay); otherwise give up after a few tries (the owner's commands). The first
            connection gives up after a few tries either way.
        name: the client name the server shows.
        on_disconnect: called when the connection is lost.
        on_reconnect: called when it is back.

    Raises:
        FormatError: no server answers.
    """
    import nats  # noqa: PLC0415 - only commands that speak to NATS load the client

    async def quiet(_exc: Exception) -> None:
        # Losses and reconnects are reported through on_disconnect and on_reconnect.
        return None

    callbacks: dict[str, Any] = {}
    if on_disconnect is not None:
        callbacks["disconnected_cb"] = on_disconnect
    if on_reconnect is not None:
        callbacks["reconnected_cb"] = on_reconnect

    try:
        nc = await nats.connect(
            servers=list(target.servers),
            name=name,
            connect_timeout=2,
            reconnect_time_wait=0.25,
            # The first connection gives up after a few tries either way: a server that never
            # answered is bad input, said in one line, not a silent wait.
            max_reconnect_attempts=3,
            allow_reconnect=True,
            error_cb=quiet,
            # Frames wait here while a reconnect is under way; the window bounds how many.
            pending_size=64 * 1024 * 1024,
            **callbacks,
        )
    except Exception as exc:  # the client raises several unrelated types for "no server"
        raise FormatError(f"{target}: cannot reach a NATS server ({type(exc).__name__})") from exc
    if forever:
        nc.options["max_reconnect_attempts"] = -1  # once connected, a loss is waited out
    return nc


def _stream_config(target: NatsTarget, limits: StreamLimits) -> Any:
    from nats.js import api  # noqa: PLC0415

    return api.StreamConfig(
        name=target.stream,
        description="sealog sealed sessions",
        subjects=[f"{target.prefix}.>"],
        retention=api.RetentionPolicy.LIMITS,
        discard=api.DiscardPolicy.OLD,
        max_age=limits.max_age,
        max_bytes=limits.max_bytes,
        max_msgs_per_subject=-1,
        storage=api.StorageType.FILE,
        num_replicas=limits.replicas,
        duplicate_window=limits.duplicate_window,
        # Ordinary clients cannot delete or purge; an operator who changes this can, and the
        # owner's verify still names what they did.
        deny_delete=True,
        deny_purge=True,
        allow_direct=True,
    )


def check_stream(target: NatsTarget, config: Any, limits: StreamLimits) -> None:
    """Refuse an existing stream that would lose or drop frames, or that differs from what the
    caller asked for.

    Raises:
        FormatError: naming the first setting that does not fit.
    """
    from nats.js import api  # noqa: PLC0415

    name = target.stream
    subjects = config.subjects or []
    if f"{target.prefix}.>" not in subjects:
        raise FormatError(f"stream {name}: subjects {subjects} do not include {target.prefix}.>")
    if config.retention not in (None, api.RetentionPolicy.LIMITS):
        raise FormatError(
            f"stream {name}: retention {config.retention.value} would delete frames once read"
        )
    if (config.max_msgs_per_subject or -1) != -1:
        raise FormatError(
            f"stream {name}: max_msgs_per_subject {config.max_msgs_per_subject} would drop frames"
        )
    if config.no_ack:
        raise FormatError(f"stream {name}: no_ack is set, publishes could not be confirmed")
    have = {
        "max_age": float(config.max_age or 0),
        "max_bytes": int(config.max_bytes if config.max_bytes is not None else -1),
        "replicas": int(config.num_replicas or 1),
        "duplicate_window": float(config.duplicate_window or 0),
    }
    for setting in sorted(limits.explicit):
        want = getattr(limits, setting)
        if abs(have[setting] - want) > 1e-3:
            raise FormatError(
                f"stream {name}: {setting} is {have[setting]:g}, asked {want:g} "
                "(change the stream's settings, or leave the option out)"
            )


async def ensure_stream(
    js: Any, target: NatsTarget, limits: StreamLimits, *, patience: float = 15.0
) -> None:
    """Create the stream if it is missing; check its settings if it is there.

    A cluster that is still electing its leaders answers "unavailable" for a while: that is
    waited out for up to ``patience`` seconds.

    Raises:
        FormatError: the stream exists with settings that do not fit, cannot be created, or
            JetStream stays unavailable.
    """
    import asyncio  # noqa: PLC0415 - the module is imported by Keeps that never speak NATS

    from nats.js import errors as js_errors  # noqa: PLC0415

    deadline = time.monotonic() + patience
    while True:
        try:
            try:
                info = await js.stream_info(target.stream)
            except js_errors.NotFoundError:
                await js.add_stream(_stream_config(target, limits))
                return
            check_stream(target, info.config, limits)
            return
        except (js_errors.ServiceUnavailableError, TimeoutError) as exc:
            if time.monotonic() > deadline:
                raise FormatError(f"{target}: JetStream is unavailable") from exc
            await asyncio.sleep(0.25)
        except js_errors.APIError as exc:
            if exc.code == 503 and time.monotonic() <= deadline:
                await asyncio.sleep(0.25)
                continue
            raise FormatError(f"stream {target.stream}: {exc.description}") from exc


_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B?|B)?$", re.IGNORECASE)
_AGE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([smhd])?$")
_AGE_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def limits_from_options(
    max_age: str | None, max_bytes: str | None, replicas: int | None
) -> StreamLimits:
    """:class:`StreamLimits` from command-line text: ages like ``30d``/``12h``/``0`` (no limit),
    sizes like ``10GiB``/``500MB``/``-1`` (no limit); options left out keep their defaults and
    are not checked on an existing stream.

    Raises:
        FormatError: a malformed age or size.
    """
    values: dict[str, Any] = {}
    if max_age is not None:
        m = _AGE.match(max_age.strip())
        if m is None:
            raise FormatError(f"--max-age {max_age!r}: expected a number and s, m, h or d")
        values["max_age"] = float(m.group(1)) * _AGE_UNITS[m.group(2) or "s"]
    if max_bytes is not None:
        if max_bytes.strip() == "-1":
            values["max_bytes"] = -1
        else:
            m = _SIZE.match(max_bytes.strip())
            if m is None:
                raise FormatError(f"--max-bytes {max_bytes!r}: expected a size such as 10GiB")
            unit = (m.group(2) or "B").upper()
            scale = 1000 if unit.endswith("B") and "I" not in unit and unit != "B" else 1024
            power = "BKMGT".index(unit[0])
            values["max_bytes"] = int(float(m.group(1)) * scale**power)
    if replicas is not None:
        values["replicas"] = replicas
    return StreamLimits(**values, explicit=frozenset(values))
