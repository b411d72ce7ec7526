"""Starting a sealed session from Python, for services that do not use ``sealog run``."""

from __future__ import annotations

import atexit
import logging
import sys
from pathlib import Path
from typing import TextIO

from sealog.keep._handler import SealogHandler
from sealog.keep._host_channel import HostChannel
from sealog.keep._session import SealedSession
from sealog.profile import Profile, resolve_profile
from sealog.seal._header import Header
from sealog.seal._keys import OwnerPublicKey
from sealog.seal._writer import Attester, start_profile_session

__all__ = ["Session", "open_session"]


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
            self.sealed.close()
            self.host.emit("keep.closed", frames=self.sealed.frames)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
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
    from sealog.host._store import Store  # noqa: PLC0415 - the host side, loaded on use

    if not isinstance(owner, OwnerPublicKey):
        owner = OwnerPublicKey.load(Path(owner))
    if not isinstance(profile, Profile):
        profile = resolve_profile(str(profile))
    store_obj = Store.create(Path(store))
    attester = _attester(attest) if isinstance(attest, str) else attest
    header, sealer = start_profile_session(owner, profile, attester, keep_id=keep_id)
    sink = store_obj.new_session(header)
    sid = header.session_hex
    host = HostChannel(
        host_stream if host_stream is not None else sys.stderr,
        record=lambda event: store_obj.append_event(sid, event),
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
