"""The Keep's side of session transparency: no workload before the session is in the audit log.

Under a control policy with ``announce_sessions = true`` the runtime, once the session header is
written, asks the host for an announcement (host event ``keep.announce_wanted``) and waits. The
operator appends the session to the audit log (``sealog audit announce``) and drops the bundle
into the control folder as ``<session>.announce``. The Keep checks it with
:func:`sealog.audit.check_announcement`, seals the whole bundle into its stream
(``session.announced``), and only then lets the workload start.

A bundle that fails the check (another Keep's, another session's, a forged or stale tree head)
ends the session at once: the reason is sealed, the host sees ``keep.failed`` with the cause
``announce.refused``. No good bundle within the policy's ``announce_wait`` ends it with
``announce.timeout``, and SIGINT or SIGTERM while waiting with ``announce.stopped``. Either way
the workload never runs, and the session is closed cleanly so the owner can read why.
"""

from __future__ import annotations

import os
import signal
import stat
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sealog.audit import AnnouncementBundle, announcement_file, check_announcement
from sealog.audit._policy import ControlPolicy
from sealog.errors import Error, FormatError
from sealog.keep._host_channel import HostChannel
from sealog.keep._session import SealedSession
from sealog.seal._header import Header
from sealog.seal._row import make_row
from sealog.seal._vocabulary import (
    CONTROL_LOGGER,
    EVENT_ANNOUNCE_REFUSED,
    EVENT_ANNOUNCE_STOPPED,
    EVENT_ANNOUNCE_TIMEOUT,
    EVENT_SESSION_ANNOUNCED,
    WARNING,
)

__all__ = [
    "STATUS_REFUSED",
    "STATUS_TIMEOUT",
    "await_announcement",
]

#: ``sealog run``'s exit status when the announcement did not come in time (EX_TEMPFAIL).
STATUS_TIMEOUT = 75
#: ``sealog run``'s exit status when the bundle was refused (EX_NOPERM).
STATUS_REFUSED = 77
_POLL = 0.05
_MAX_BUNDLE = 1024 * 1024


def await_announcement(
    header: Header,
    folder: Path,
    policy: ControlPolicy,
    sealed: SealedSession,
    host: HostChannel,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int | None:
    """Wait for this session's announcement bundle; None when the workload may start.

    Args:
        header: this session's header (what the announcement must name).
        folder: the control folder the host feeds.
        policy: the launch configuration's control policy (log key, wait limit).
        sealed: the session, to seal the bundle or the reason for stopping.
        host: the host channel.
        clock: the Keep's wall clock (aware), for the tree head's freshness.
        monotonic: a monotonic clock, for the wait limit.
        sleep: waits between looks at the folder (tests pass one that advances their clock).

    Returns:
        None when the bundle was accepted and sealed; otherwise the exit status the run ends
        with (:data:`STATUS_REFUSED`, :data:`STATUS_TIMEOUT`, or 128+N when signal N stopped
        the wait), the session already closed.
    """
    wait = policy.announce_wait.total_seconds()
    deadline = monotonic() + wait
    path = announcement_file(folder, header.session_hex)
    signals: list[int] = []
    # Before asking: an operator may stop the Keep as soon as it sees the request.
    previous = _catch_stop_signals(signals)
    try:
        host.emit("keep.announce_wanted", digest=header.digest.hex(), wait=int(wait))
        while True:
            if signals:
                # The operator stopped the Keep while it waited: close the session cleanly.
                name = signal.Signals(signals[0]).name
                return _stop(
                    sealed,
                    host,
                    EVENT_ANNOUNCE_STOPPED,
                    128 + signals[0],
                    f"stopped by {name} while waiting for the announcement: workload not started",
                    signum=signals[0],
                )
            try:
                data = _read_regular(path)
                bundle = (
                    None if data is None else AnnouncementBundle.from_json(data, source=path.name)
                )
                if bundle is not None:
                    check_announcement(bundle, header, policy, now=clock())
            except Error as exc:
                reason = f"announcement refused: {exc}"
                return _stop(sealed, host, EVENT_ANNOUNCE_REFUSED, STATUS_REFUSED, reason)
            if bundle is not None:
                _seal(
                    sealed,
                    f"session announced in the audit log (leaf {bundle.inclusion.leaf_index} "
                    f"of tree size {bundle.inclusion.tree_head.size})",
                    {"event": EVENT_SESSION_ANNOUNCED, "bundle": bundle.to_dict()},
                )
                sealed.flush()
                host.emit("keep.announced")
                return None
            if monotonic() >= deadline:
                return _stop(
                    sealed,
                    host,
                    EVENT_ANNOUNCE_TIMEOUT,
                    STATUS_TIMEOUT,
                    f"no session announcement within {int(wait)} s: workload not started",
                )
            sleep(_POLL)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _catch_stop_signals(caught: list[int]) -> dict[int, Any]:
    """Note SIGINT and SIGTERM in ``caught`` instead of dying; the handlers they replace.

    Only the main thread can set handlers; elsewhere (an embedding program) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {
        s: signal.signal(s, lambda signum, _frame: caught.append(signum))
        for s in (signal.SIGINT, signal.SIGTERM)
    }


def _read_regular(path: Path) -> bytes | None:
    """The file's bytes when it is a regular file (never a FIFO or a link), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None  # not there yet (or a link the host planted: never followed)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(_MAX_BUNDLE + 1)
    finally:
        os.close(fd)
    if len(data) > _MAX_BUNDLE:
        raise FormatError(f"{path.name}: larger than {_MAX_BUNDLE} bytes, not a bundle")
    return data


def _seal(sealed: SealedSession, message: str, fields: dict[str, Any]) -> None:
    sealed.submit(
        make_row(time.time(), WARNING, "sealog", CONTROL_LOGGER, message, None, None, fields)
    )


def _stop(
    sealed: SealedSession,
    host: HostChannel,
    code: str,
    status: int,
    reason: str,
    *,
    signum: int | None = None,
) -> int:
    _seal(sealed, reason, {"event": code, "reason": reason})
    sealed.close({"exit_code": status})
    host.emit("keep.failed", code=code, status=status, signal=signum)
    return status
