"""The Keep runtime: runs a workload, seals everything it says, tells the host only events.

One session per run. The workload's stdout and stderr are captured line by line into sealed
records (source ``workload``, logger ``stdout``/``stderr``, levels INFO/WARNING). A Python
workload additionally gets sealog installed before its own code runs (see ``_workload.py``), so
its ``logging`` calls arrive as structured records over a private pipe.

The runtime outlives the workload: when the workload dies (even by SIGKILL) the runtime seals
what it received and closes the session. SIGINT and SIGTERM sent to the runtime are forwarded
to the workload, and the session is closed cleanly once it exits.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO, cast

from sealog.audit._policy import ControlPolicy, control_policy_digest
from sealog.errors import FormatError
from sealog.keep._announce import await_announcement
from sealog.keep._control_channel import ControlChannel
from sealog.keep._fingerprint import platform_fingerprint
from sealog.keep._host_channel import HostChannel
from sealog.keep._host_rules import HostRules
from sealog.keep._lines import LineReader, LineRules, pump
from sealog.keep._session import FrameSink, SealedSession
from sealog.keep._shape import Shaper
from sealog.keep._syscalls import start_syscall_trace
from sealog.keep._targets import launch_text
from sealog.keep._workload import ENV_VAR
from sealog.profile._model import HostClear, Profile
from sealog.seal._frames import FrameSealer
from sealog.seal._header import Header
from sealog.seal._row import Row, make_row
from sealog.seal._vocabulary import (
    CONTROL_LOGGER,
    EVENT_CONTROL_POLICY,
    EVENT_RING_SEALED,
    FINGERPRINT_LOGGER,
    RUNTIME_LOGGER,
    SESSION_LOGGER,
    UNCAUGHT_LOGGER,
)
from sealog.seal._writer import Attester

__all__ = ["RunResult", "is_python", "run_workload"]

_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")


@dataclass(frozen=True)
class RunResult:
    """How a run ended.

    Attributes:
        exit_code: what ``sealog run`` exits with (the workload's code, or 128+N for signal N).
        session: the session id.
        frames: frames sealed.
    """

    exit_code: int
    session: str
    frames: int


@dataclass(frozen=True)
class ControlSetup:
    """Where change orders come from, and the policy that judges them.

    Attributes:
        folder: the control folder the host feeds with order bundles.
        policy: the control policy (part of the launch configuration); its text is sealed at
            session start so the owner can check orders.
        keep_id: this Keep's id, as orders name it.
    """

    folder: Path
    policy: ControlPolicy
    keep_id: str


def is_python(cmd: Sequence[str]) -> bool:
    """Whether ``cmd`` starts a Python interpreter (whose logging can be captured as records)."""
    exe = cmd[0]
    if _PYTHON.match(os.path.basename(exe)):
        return True
    resolved = shutil.which(exe)
    return resolved is not None and os.path.realpath(resolved) == os.path.realpath(sys.executable)


def _bootstrap_dir() -> str:
    """A private folder holding ``sitecustomize.py`` and a link to this sealog package."""
    folder = tempfile.mkdtemp(prefix="sealog-boot-")
    here = Path(__file__).resolve().parent
    shutil.copyfile(here / "_bootstrap_sitecustomize.py", Path(folder) / "sitecustomize.py")
    os.symlink(here.parent, Path(folder) / "sealog")
    return folder


class _Relay:
    """Moves rows from the workload into the sealed session, and events to the host.

    Rows from the workload's record channel are checked and re-stamped here
    (:meth:`Row.from_workload`): this is the boundary between the workload and the runtime.
    """

    def __init__(self, sealed: SealedSession, profile: Profile, host: HostChannel, echo: bool):
        self.sealed = sealed
        self.host = host
        self.echo = echo
        self.uncaught = False
        self.refused = 0
        self.rules = HostRules(profile, seal=sealed.submit)
        self._readers: list[LineReader] = []
        self.apply(profile)

    def apply(self, profile: Profile) -> None:
        """Follow a profile switch: the host's rules and where ring dumps are shaped."""
        self.profile = profile
        self.rules.flush()
        self.rules = HostRules(profile, seal=self.sealed.submit)
        self.lines = LineRules(profile.lines)
        for reader in self._readers:
            reader.rules = self.lines

    def ring(self, rows: list[Any]) -> None:
        """Seal the workload's flight recorder, shaped by the ring's own rules."""
        rules = self.profile.ring or self.profile.owner
        shaper = Shaper(rules)
        shaped = [
            r for r in (shaper.shape(row) for row in self._checked(rows)) if r is not None
        ]
        note = make_row(
            time.time(),
            30,
            "sealog",
            CONTROL_LOGGER,
            f"flight recorder: {len(shaped)} records from before the order follow",
            None,
            None,
            {"event": EVENT_RING_SEALED, "records": len(shaped)},
        )
        self.sealed.submit_shaped([note, *shaped])

    def _checked(self, rows: list[Any]) -> list[Row]:
        out = []
        for value in rows:
            try:
                out.append(Row.from_workload(value))
            except FormatError:
                self.refused += 1
        return out

    def row(self, row: Row) -> None:
        if row.logger == UNCAUGHT_LOGGER:
            self.uncaught = True
        self.sealed.submit(row)
        if row.level < self.rules.min_level:
            return
        if self.echo and row.logger in ("stdout", "stderr"):
            return  # under host = "records" captured output is echoed as lines, not events
        event = self.rules.event(row)
        if event is not None:
            self.host.emit(event[0], **event[1])

    def pump_records(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as fh:
            for line in fh:
                try:
                    rows = json.loads(line)
                except (ValueError, RecursionError):
                    # A workload cannot corrupt the session, only lose its own rows.
                    self.refused += 1
                    continue
                if isinstance(rows, dict) and isinstance(rows.get("ring"), list):
                    self.ring(rows["ring"])
                elif isinstance(rows, list):
                    for row in self._checked(rows):
                        self.row(row)
                else:
                    self.refused += 1

    def pump_lines(self, stream: IO[bytes], name: str, level: int, out: IO[str]) -> None:
        """Seal one output stream's lines as rows, understood by ``keep/_lines.py``; ``level``
        is the stream's level where the profile's ``[lines]`` does not name one."""
        reader = LineReader(name, self.lines, default=level)
        self._readers.append(reader)

        def echo(row: Row) -> None:
            clear = self.rules.line(row)
            if clear is not None:
                out.write(clear + "\n")
                out.flush()

        pump(stream, reader, self.row, echo if self.echo else None)

    def finish(self) -> None:
        """Seal what the host was not told and what the workload sent that was refused."""
        self.rules.flush()
        if self.refused:
            self.sealed.submit(
                make_row(
                    time.time(),
                    30,
                    "sealog",
                    SESSION_LOGGER,
                    f"{self.refused} malformed rows from the workload were refused",
                    None,
                    None,
                    {"refused_rows": self.refused},
                )
            )
            self.refused = 0


def run_workload(
    cmd: Sequence[str],
    *,
    profile: Profile,
    profile_ref: str,
    start: Callable[[Attester], tuple[Header, FrameSealer]],
    sink_for: Callable[[Header], FrameSink],
    attester: Attester,
    host_stream: TextIO | None,
    record_event: Callable[[str, dict[str, Any]], None] | None = None,
    env: dict[str, str] | None = None,
    control: ControlSetup | None = None,
) -> RunResult:
    """Run ``cmd`` in a new sealed session and return how it ended.

    Args:
        cmd: the workload's command line.
        profile: the profile in force.
        profile_ref: how the workload's interpreter finds the same profile (name or file).
        start: creates the session's header and sealer, given the attester.
        sink_for: where the session's frames go.
        attester: the attestation provider's collect function.
        host_stream: where host-channel events are written.
        record_event: also called with each event (the store keeps them).
        env: the workload's environment (default: this process's).
        control: where change orders come from, or None for a Keep that takes none.
    """
    header, sealer = start(attester)
    sid = header.session_hex
    host = HostChannel(
        host_stream,
        record=(lambda event: record_event(sid, event)) if record_event else None,
        session=sid,
    )
    provider = header.evidence.provider if header.evidence else "none"
    host.emit("keep.starting", profile=profile.name, attest=provider)
    sealed = SealedSession(sealer, sink_for(header), profile.owner, profile.stream)
    echo = profile.host is HostClear.RECORDS
    relay = _Relay(sealed, profile, host, echo)
    try:
        if control is not None and control.policy.announce_sessions:
            # Session transparency: no workload until this session is proven in the audit log.
            stopped = await_announcement(header, control.folder, control.policy, sealed, host)
            if stopped is not None:
                return RunResult(stopped, sid, sealed.frames)
        return _supervise(
            cmd, profile, profile_ref, sealed, relay, host, sid, env, provider, control
        )
    except BaseException as exc:
        # Whatever went wrong in the runtime itself, what was received is sealed and the
        # session is closed: the owner learns the cause, the host a generic code.
        if not sealed.closed:
            _runtime_record(sealed, 50, f"runtime failed: {type(exc).__name__}")
            sealed.close({"exit_code": 70})
            host.emit("keep.failed", code="runtime.internal", status=70)
        raise


def _supervise(
    cmd: Sequence[str],
    profile: Profile,
    profile_ref: str,
    sealed: SealedSession,
    relay: _Relay,
    host: HostChannel,
    sid: str,
    env: dict[str, str] | None,
    provider: str,
    control: ControlSetup | None,
) -> RunResult:
    if control is not None:
        _runtime_record(
            sealed,
            30,
            "control policy in force",
            {
                "event": EVENT_CONTROL_POLICY,
                "digest": control_policy_digest(control.policy).hex(),
                "policy": control.policy.text,
            },
            logger=CONTROL_LOGGER,
            source="sealog",
        )
    # A Python workload is traced by audit hooks from inside; any other command by its calls.
    syscalls = start_syscall_trace(cmd, relay.row) if profile.trace and not is_python(cmd) else None
    if profile.trace:
        fingerprint = platform_fingerprint(attest=provider)
        if syscalls is not None:
            fingerprint["syscall_trace"] = syscalls.status
        _runtime_record(
            sealed, 20, "platform fingerprint", fingerprint, logger=FINGERPRINT_LOGGER
        )

    # The workload parses the launch profile from this text, checked against the digest the
    # header carries, never from a file the host could have swapped since launch.
    launch_toml = launch_text(profile, profile_ref)
    child_env = dict(os.environ if env is None else env)
    read_fd, write_fd = os.pipe()
    ctl_read, ctl_write = os.pipe()
    boot = None
    python = is_python(cmd)
    if python:
        boot = _bootstrap_dir()
        child_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (boot, child_env.get("PYTHONPATH", "")) if p
        )
        child_env[ENV_VAR] = json.dumps(
            {
                "fd": write_fd,
                "control_fd": ctl_read,
                "profile": profile_ref,
                "profile_toml": launch_toml,
            }
        )
    _runtime_record(sealed, 20, f"starting workload ({'python' if python else 'command'})")
    try:
        proc = subprocess.Popen(
            syscalls.command(cmd) if syscalls else list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(write_fd, ctl_read) if python else (),
            env=child_env,
            # Its own session: a terminal's ^C reaches the runtime once, which forwards it.
            start_new_session=True,
        )
    except OSError as exc:
        if syscalls is not None:
            syscalls.finish()
        for fd in (write_fd, read_fd, ctl_read, ctl_write):
            os.close(fd)
        _runtime_record(sealed, 50, f"workload could not start: {exc.strerror}")
        sealed.close({"exit_code": 127})
        host.emit("keep.failed", code="workload.not_started", status=127)
        _cleanup(boot)
        return RunResult(127, sid, sealed.frames)
    os.close(write_fd)
    os.close(ctl_read)
    host.emit("keep.ready", pid=proc.pid)
    channel = _control_channel(control, profile, profile_ref, sealed, relay, host, ctl_write)

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    out_pipe = cast(IO[bytes], proc.stdout)  # both set: Popen was given PIPE
    err_pipe = cast(IO[bytes], proc.stderr)
    threads = [
        threading.Thread(target=relay.pump_records, args=(read_fd,), daemon=True),
        threading.Thread(
            target=relay.pump_lines, args=(out_pipe, "stdout", 20, sys.stdout), daemon=True
        ),
        threading.Thread(
            target=relay.pump_lines, args=(err_pipe, "stderr", 30, sys.stderr), daemon=True
        ),
    ]
    for t in threads:
        t.start()
    status = proc.wait()
    if syscalls is not None:
        syscalls.finish()  # the trace's records come before the exit's
    if channel is not None:
        channel.stop()
    with contextlib.suppress(OSError):
        os.close(ctl_write)
    # The workload is gone; its grandchildren may still hold the pipes open, so wait a little.
    for t in threads:
        t.join(timeout=5)
    for s, h in previous.items():
        signal.signal(s, h)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    code = status if status >= 0 else 128 - status
    fields: dict[str, Any] = {
        "exit_code": code,
        "cpu_user_s": round(usage.ru_utime, 3),
        "cpu_system_s": round(usage.ru_stime, 3),
        "max_rss_kib": usage.ru_maxrss,
    }
    if status < 0:
        fields["signal"] = signal.Signals(-status).name
    _runtime_record(sealed, 20 if code == 0 else 40, f"workload exited with {code}", fields)
    relay.finish()
    sealed.close({"exit_code": code})
    if status == 0:
        host.emit("keep.exited", status=0)
    elif status < 0:
        host.emit("keep.failed", code="workload.killed", status=code, signal=-status)
    elif relay.uncaught:
        host.emit("keep.failed", code="workload.uncaught_exception", status=code)
    else:
        host.emit("keep.failed", code="workload.exit_nonzero", status=code)
    _cleanup(boot)
    return RunResult(code, sid, sealed.frames)


def _control_channel(
    control: ControlSetup | None,
    profile: Profile,
    profile_ref: str,
    sealed: SealedSession,
    relay: _Relay,
    host: HostChannel,
    ctl_write: int,
) -> ControlChannel | None:
    if control is None:
        return None

    def send(message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # a workload that exited takes no more messages
            os.write(ctl_write, (json.dumps(message) + "\n").encode())

    def switch(target: Profile, text: str) -> None:
        sealed.set_owner_rules(target.owner)
        relay.apply(target)
        send({"profile_toml": text})

    def seal(level: int, message: str, fields: dict[str, Any]) -> None:
        _runtime_record(sealed, level, message, fields, logger=CONTROL_LOGGER, source="sealog")
        sealed.flush()

    channel = ControlChannel(
        control.folder,
        control.policy,
        keep_id=control.keep_id,
        launch=(profile, profile_ref),
        switch=switch,
        dump_ring=lambda: send({"ring": True}),
        seal=seal,
        host=host,
    )
    channel.start()
    return channel


def _runtime_record(
    sealed: SealedSession,
    level: int,
    message: str,
    fields: dict[str, Any] | None = None,
    *,
    logger: str = RUNTIME_LOGGER,
    source: str = "runtime",
) -> None:
    sealed.submit(make_row(time.time(), level, source, logger, message, None, None, fields))


def _cleanup(boot: str | None) -> None:
    if boot:
        shutil.rmtree(boot, ignore_errors=True)
