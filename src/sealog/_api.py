"""Starting sealed sessions from Python: in-process (:func:`open_session`) or around a command
(:func:`run_keep`, what ``sealog run`` does). Both go through one starter, :func:`_start`."""

from __future__ import annotations

import atexit
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from sealog.errors import FormatError
from sealog.host import Store, open_store
from sealog.keep._handler import SealogHandler
from sealog.keep._host_channel import HostChannel
from sealog.keep._runtime import ControlSetup, RunResult, run_workload
from sealog.keep._session import SealedSession
from sealog.profile import Profile, builtin_names, resolve_profile
from sealog.seal._frames import FrameSealer
from sealog.seal._header import Header, check_keep_id
from sealog.seal._keys import OwnerPublicKey
from sealog.seal._writer import Attester, start_profile_session

if TYPE_CHECKING:
    from sealog.audit import ControlPolicy
    from sealog.host import NatsSink

__all__ = ["RunResult", "Session", "open_session", "run_keep"]


class Session:
    """An open sealed session with its logging handler installed.

    Use it as a context manager, or call :meth:`close`; a session still open at interpreter
    exit is closed then (sealed to the end, closing frame written).
    """

    def __init__(
        self,
        header: Header,
        sealed: SealedSession,
        handler: SealogHandler,
        logger: logging.Logger | None,
        host: HostChannel,
    ) -> None:
        self.header = header
        self.sealed = sealed
        self.handler = handler
        self._logger = logger
        self.host = host

    @property
    def session_id(self) -> str:
        """The session id (hex)."""
        return self.header.session_hex

    def flush(self) -> None:
        """Seal what was logged so far (or queue it for the next tick under cover traffic)."""
        self.sealed.flush()

    def close(self) -> None:
        """Remove the handler, seal what is left and the closing frame. Idempotent."""
        if self._logger is not None:
            self._logger.removeHandler(self.handler)
            self._logger = None
        if not self.sealed.closed:
            self.handler.flush()
            self.sealed.close()
            self.host.emit("keep.closed", frames=self.sealed.frames)

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        etype: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if etype is not None and value is not None and not self.sealed.closed:
            # The exception that ends the block is what the owner most wants to see: sealed
            # like an uncaught exception under ``sealog run``, shaped by the profile.
            record = logging.LogRecord(
                "sealog.uncaught",
                logging.CRITICAL,
                __file__,
                0,
                "uncaught %s",
                (etype.__qualname__,),
                (etype, value, tb),
            )
            self.handler.handle(record)
        self.close()


def _attester(name: str) -> Attester:
    from sealog.attest import provider_by_name  # noqa: PLC0415 - attestation loads on demand

    return provider_by_name(name).collect


def open_session(
    owner: OwnerPublicKey | str | Path,
    store: str | Path = "sealog-store",
    profile: Profile | str | Path = "production",
    *,
    keep_id: str = "keep",
    attest: str | Attester = "none",
    logger: logging.Logger | bool | None = True,
    host_stream: TextIO | None = None,
) -> Session:
    """Open a session sealed to ``owner`` in ``store`` and route logging through it.

    Args:
        owner: the owner's public key, or the path of its ``.pub`` file.
        store: the store folder (created if needed).
        profile: a profile, a built-in name, or a TOML file.
        keep_id: a name for this Keep (not secret).
        attest: an attestation provider name (``none``, ``tsm``, ``gramine``, ``auto``) or a
            callable returning evidence for 64 bytes of report data.
        logger: the logger to install the handler on: True for the root logger, None/False
            for none (use ``session.handler`` yourself).
        host_stream: where host-channel events go (default: stderr).

    Returns:
        The open :class:`Session`.

    Raises:
        sealog.FormatError: a bad key, profile or store.
        sealog.AttestationUnavailable: the provider cannot run here.
    """
    started = _start(owner, store, profile, attest, keep_id)
    profile = started.profile
    header, sealer = started.start(started.attester)
    sink = started.store.new_session(header)
    store_obj = started.store
    sid = header.session_hex
    host = HostChannel(
        host_stream if host_stream is not None else sys.stderr,
        record=lambda event: store_obj.append_event(sid, event),
        record_lines=lambda text: store_obj.append_event_lines(sid, text),
        session=sid,
    )
    host.emit("keep.starting", profile=profile.name, attest=_provider_name(header))
    sealed = SealedSession(sealer, sink, profile.owner, profile.stream)
    handler = SealogHandler(sealed, profile, host=host)
    target: logging.Logger | None = None
    if logger is True:
        target = logging.getLogger()
    elif isinstance(logger, logging.Logger):
        target = logger
    if target is not None:
        target.addHandler(handler)
        if target.level == logging.NOTSET or target.level > handler.threshold:
            target.setLevel(handler.threshold)
    host.emit("keep.ready")
    session = Session(header, sealed, handler, target, host)
    # A service that never calls close() still ends its session cleanly at interpreter exit:
    # what it logged is sealed and the closing frame written, instead of a truncated stream.
    atexit.register(session.close)
    return session


def _provider_name(header: Header) -> str:
    return header.evidence.provider if header.evidence else "none"


@dataclass(frozen=True)
class _Started:
    """What both ways of starting a session resolve before the first frame."""

    owner: OwnerPublicKey
    profile: Profile
    profile_ref: str
    store: Store | NatsSink  # a nats:// store publishes directly (docs/fleet.md)
    attester: Attester
    keep_id: str
    control_digest: bytes

    def start(self, attester: Attester) -> tuple[Header, FrameSealer]:
        return start_profile_session(
            self.owner,
            self.profile,
            attester,
            keep_id=self.keep_id,
            control_digest=self.control_digest,
        )


def _start(
    owner: OwnerPublicKey | str | Path,
    store: str | Path,
    profile: Profile | str | Path,
    attest: str | Attester,
    keep_id: str,
    control: ControlPolicy | None = None,
) -> _Started:
    """Resolve the owner key, profile, store and attester of a new session (bad input raises
    :class:`~sealog.FormatError` before anything is written)."""
    check_keep_id(keep_id)  # printed by every owner command: a safe alphabet, checked first
    if not isinstance(owner, OwnerPublicKey):
        owner = OwnerPublicKey.load(Path(owner))
    if isinstance(profile, Profile):
        ref = profile.name
    else:
        text = str(profile)
        # The workload's interpreter resolves the profile again: a built-in by name, a file by
        # absolute path, so a change of working folder in between cannot make it read another.
        ref = text if text in builtin_names() else str(Path(text).resolve())
        profile = resolve_profile(text)
    attester = _attester(attest) if isinstance(attest, str) else attest
    return _Started(
        owner=owner,
        profile=profile,
        profile_ref=ref,
        store=open_store(store),
        attester=attester,
        keep_id=keep_id,
        control_digest=_control_digest(control),
    )


def run_keep(
    cmd: Sequence[str],
    owner: OwnerPublicKey | str | Path,
    store: str | Path = "sealog-store",
    profile: str | Path = "production",
    *,
    attest: str | Attester = "none",
    keep_id: str = "keep",
    control_policy: str | Path | None = None,
    control_dir: str | Path | None = None,
    host_stream: TextIO | None = None,
) -> RunResult:
    """Run ``cmd`` as a workload in a new sealed session (what ``sealog run`` does).

    Args:
        cmd: the workload's command line.
        owner: the owner's public key, or the path of its ``.pub`` file.
        store: the store folder (created if needed), or a ``nats://`` source to publish to
            directly (see docs/fleet.md).
        profile: a built-in profile name or a TOML file (the workload's interpreter loads the
            same one).
        attest: an attestation provider name or a callable returning evidence.
        keep_id: a name for this Keep (not secret).
        control_policy: the control policy file, if change orders are accepted.
        control_dir: the folder the host feeds with order bundles (with ``control_policy``).
        host_stream: where host-channel events go (default: stderr).

    Returns:
        How the run ended: the exit code to use, the session id, frames sealed.

    Raises:
        sealog.FormatError: bad input, before the workload starts.
    """
    if not cmd:
        raise FormatError("no command given: sealog run --owner PUB [OPTIONS] -- CMD [ARG...]")
    control = _control(control_policy, control_dir, keep_id)
    started = _start(owner, store, profile, attest, keep_id, control.policy if control else None)
    try:
        return run_workload(
            cmd,
            profile=started.profile,
            profile_ref=started.profile_ref,
            start=started.start,
            sink_for=started.store.new_session,
            attester=started.attester,
            host_stream=host_stream if host_stream is not None else sys.stderr,
            record_event=started.store.append_event,
            record_event_lines=started.store.append_event_lines,
            control=control,
        )
    finally:
        if not isinstance(started.store, Store):
            started.store.close()  # nats://: every message acknowledged before the exit code


def _control(
    policy: str | Path | None, folder: str | Path | None, keep_id: str
) -> ControlSetup | None:
    if policy is None and folder is None:
        return None
    if policy is None or folder is None:
        raise FormatError("--control and --control-policy go together")
    folder = Path(folder)
    if not folder.is_dir():
        raise FormatError(f"{folder}: control folder does not exist")
    from sealog.audit import load_control_policy  # noqa: PLC0415 - only a Keep that takes orders

    return ControlSetup(folder, load_control_policy(Path(policy)), keep_id)


def _control_digest(control: ControlPolicy | None) -> bytes:
    if control is None:
        return b""
    from sealog.audit import control_policy_digest  # noqa: PLC0415 - as above

    return control_policy_digest(control)
