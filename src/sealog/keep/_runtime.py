"""The Keep runtime: runs a workload, seals everything it says, tells the host only events.

One session per run. The workload's stdout and stderr are captured line by line into sealed
records (source ``workload``, logger ``stdout``/``stderr``, levels INFO/WARNING). Every Python
process of the workload additionally gets sealog installed before its own code runs (see
``_workload.py``), so its ``logging`` calls arrive as structured records over its own
connection to the runtime (``_record_channel.py``). ``stdin`` is passed through.

A run has three steps around a :class:`_Child`: *spawn* (bootstrap, record channel, the
workload in its own process group), *pump* (wait while threads carry its output, records and
change orders into the session), *finish* (stop what it left running, take in its last words,
seal the end). The runtime outlives the workload: when the workload dies (even by SIGKILL) the
runtime seals what it received and closes the session. SIGINT and SIGTERM are handled from the
start of the run (``_stop.py``): forwarded to the workload's whole process group, then SIGKILL
after a grace period; the session is closed cleanly in every case.
"""

from __future__ import annotations

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
from typing import IO, TYPE_CHECKING, Any, TextIO, cast

from sealog._words import plural
from sealog.errors import FormatError
from sealog.keep._fingerprint import platform_fingerprint
from sealog.keep._host_channel import HostChannel
from sealog.keep._host_rules import HostRules
from sealog.keep._lines import LineReader, LineRules, pump
from sealog.keep._record_channel import RecordChannel
from sealog.keep._session import FrameSink, SealedSession
from sealog.keep._shape import Shaper
from sealog.keep._stop import STOP_GRACE, StopSignals, stop_group
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

if TYPE_CHECKING:
    # The control process (change orders, session announcements) loads only for a Keep that
    # takes orders: most runs have none, and it is a tenth of the runtime's start.
    from sealog.audit._policy import ControlPolicy
    from sealog.keep._control_channel import ControlChannel

__all__ = ["RunResult", "is_python", "run_workload"]

_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")
_DRAIN_WAIT = 5.0  # seconds to take in what a stopped workload's pipes still hold


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
        shaped = [r for r in (shaper.shape(row) for row in self._checked(rows)) if r is not None]
        note = make_row(
            time.time(),
            30,
            "sealog",
            CONTROL_LOGGER,
            f"flight recorder: {plural(len(shaped), 'record')} from before the order follow",
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
        self.rules.tell(row, self.host)

    def line(self, message: object) -> None:
        """One JSON line from a workload process: a list of rows, or its flight recorder."""
        if isinstance(message, dict) and isinstance(message.get("ring"), list):
            self.ring(message["ring"])
        elif isinstance(message, list):
            for row in self._checked(message):
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


@dataclass
class _Child:
    """A started workload: its first process (leader of its own process group), the record
    channel its Python processes connect to, and the threads that pump what it says."""

    proc: subprocess.Popen[bytes]
    records: RecordChannel
    boot: str
    pumps: list[threading.Thread]
    syscalls: Any = None
    control: ControlChannel | None = None


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
    record_event_lines: Callable[[str, str], None] | None = None,
    env: dict[str, str] | None = None,
    control: ControlSetup | None = None,
    stop_grace: float = STOP_GRACE,
) -> RunResult:
    """Run ``cmd`` in a new sealed session and return how it ended.

    SIGINT and SIGTERM are handled from the moment this is called: the session always ends
    closed, and the workload's whole process group is stopped (see ``_stop.py``).

    Args:
        cmd: the workload's command line.
        profile: the profile in force.
        profile_ref: how the workload's interpreter finds the same profile (name or file).
        start: creates the session's header and sealer, given the attester.
        sink_for: where the session's frames go.
        attester: the attestation provider's collect function.
        host_stream: where host-channel events are written.
        record_event: also called with each event (the store keeps them).
        record_event_lines: if given, called with each batch of ``keep.log`` lines instead.
        env: the workload's environment (default: this process's).
        control: where change orders come from, or None for a Keep that takes none.
        stop_grace: seconds between forwarding a stop signal and SIGKILL.
    """
    signals = StopSignals(stop_grace)
    try:
        header, sealer = start(attester)
        sid = header.session_hex
        host = HostChannel(
            host_stream,
            record=(lambda event: record_event(sid, event)) if record_event else None,
            record_lines=(
                (lambda lines: record_event_lines(sid, lines)) if record_event_lines else None
            ),
            session=sid,
        )
        provider = header.evidence.provider if header.evidence else "none"
        host.emit("keep.starting", profile=profile.name, attest=provider)
        sealed = SealedSession(sealer, sink_for(header), profile.owner, profile.stream, timed=True)
        echo = profile.host is HostClear.RECORDS
        relay = _Relay(sealed, profile, host, echo)
        try:
            if control is not None and control.policy.announce_sessions:
                # Session transparency: no workload until this session is proven in the log.
                from sealog.keep._announce import await_announcement  # noqa: PLC0415

                stopped = await_announcement(header, control.folder, control.policy, sealed, host)
                if stopped is not None:
                    return RunResult(stopped, sid, sealed.frames)
            _seal_launch(profile, sealed, provider, control)
            child = _spawn(cmd, profile, profile_ref, relay, env, provider, signals)
            if isinstance(child, RunResult):
                return child
            child.control = _control_channel(control, profile, profile_ref, relay, child)
            status = _pump(child)
            return _finish(child, status, relay, signals)
        except BaseException as exc:
            # Whatever went wrong in the runtime itself, what was received is sealed and the
            # session is closed: the owner learns the cause, the host a generic code.
            if not sealed.closed:
                _runtime_record(sealed, 50, f"runtime failed: {type(exc).__name__}")
                sealed.close({"exit_code": 70})
                host.emit("keep.failed", code="runtime.internal", status=70)
            raise
    finally:
        signals.restore()


def _seal_launch(
    profile: Profile, sealed: SealedSession, provider: str, control: ControlSetup | None
) -> None:
    """The session's first records: the control policy in force."""
    if control is not None:
        from sealog.audit._policy import control_policy_digest  # noqa: PLC0415 - see above

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


def _spawn(
    cmd: Sequence[str],
    profile: Profile,
    profile_ref: str,
    relay: _Relay,
    env: dict[str, str] | None,
    provider: str,
    signals: StopSignals,
) -> _Child | RunResult:
    """Start the workload in its own process group, or say why it did not start.

    Every command gets the bootstrap ``sitecustomize`` on its ``PYTHONPATH`` and the record
    channel in its environment, so any Python process it starts, however, joins the session.
    """
    sealed, host = relay.sealed, relay.host
    # A Python workload is traced by audit hooks from inside; any other command by its calls.
    syscalls = start_syscall_trace(cmd, relay.row) if profile.trace and not is_python(cmd) else None
    if profile.trace:
        fingerprint = platform_fingerprint(attest=provider)
        if syscalls is not None:
            fingerprint["syscall_trace"] = syscalls.status
        _runtime_record(sealed, 20, "platform fingerprint", fingerprint, logger=FINGERPRINT_LOGGER)
    # The workload parses the launch profile from this text, checked against the digest the
    # header carries, never from a file the host could have swapped since launch.
    launch_toml = launch_text(profile, profile_ref)
    boot = _bootstrap_dir()
    child_env = dict(os.environ if env is None else env)
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (boot, child_env.get("PYTHONPATH", "")) if p
    )
    records = RecordChannel(Path(boot) / "records.sock", relay.line)
    child_env[ENV_VAR] = json.dumps(
        {"socket": str(records.path), "profile": profile_ref, "profile_toml": launch_toml}
    )
    python = is_python(cmd)
    _runtime_record(sealed, 20, f"starting workload ({'python' if python else 'command'})")
    why = None
    if signals.received is not None:
        why = f"stopped by {signal.Signals(signals.received).name} before it started"
    else:
        try:
            proc = subprocess.Popen(
                syscalls.command(cmd) if syscalls else list(cmd),
                stdin=None,  # passed through: the workload reads what `sealog run` is given
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=child_env,
                # Its own session and process group: a terminal's ^C reaches the runtime
                # once, which forwards it to the whole group.
                start_new_session=True,
            )
        except OSError as exc:
            why = f"could not start: {exc.strerror}"
    if why is not None:
        if syscalls is not None:
            syscalls.finish()
        return _not_started(relay, records, boot, why, signals)
    signals.attach(proc.pid)
    host.emit("keep.ready", pid=proc.pid)
    out_pipe = cast(IO[bytes], proc.stdout)  # both set: Popen was given PIPE
    err_pipe = cast(IO[bytes], proc.stderr)
    pumps = [
        threading.Thread(
            target=relay.pump_lines, args=(out_pipe, "stdout", 20, sys.stdout), daemon=True
        ),
        threading.Thread(
            target=relay.pump_lines, args=(err_pipe, "stderr", 30, sys.stderr), daemon=True
        ),
    ]
    for t in pumps:
        t.start()
    return _Child(proc, records, boot, pumps, syscalls)


def _not_started(
    relay: _Relay, records: RecordChannel, boot: str, why: str, signals: StopSignals
) -> RunResult:
    records.close()
    _cleanup(boot)
    stopped = signals.received
    code = 127 if stopped is None else 128 + stopped
    _runtime_record(relay.sealed, 50, f"workload {why}")
    relay.finish()
    relay.sealed.close({"exit_code": code})
    fields: dict[str, Any] = {"status": code}
    if stopped is not None:
        fields["signal"] = stopped
    relay.host.emit("keep.failed", code="workload.not_started", **fields)
    return RunResult(code, str(relay.host.session), relay.sealed.frames)


def _pump(child: _Child) -> int:
    """Wait for the workload's first process; return its status (negative: killed by a signal).

    Meanwhile threads carry its output, its processes' records and change orders in.
    """
    status = child.proc.wait()
    if child.syscalls is not None:
        child.syscalls.finish()  # the trace's records come before the exit's
    return status


def _finish(child: _Child, status: int, relay: _Relay, signals: StopSignals) -> RunResult:
    """Stop what the workload left running, take in its last words, seal the end."""
    sealed, host = relay.sealed, relay.host
    if child.control is not None:
        child.control.stop()
    child.records.stop_accepting()
    stop_group(child.proc.pid, signals.grace)
    # The group is gone; its processes' pipes and connections end with them.
    for t in child.pumps:
        t.join(timeout=_DRAIN_WAIT)
    child.records.join(timeout=_DRAIN_WAIT)
    child.records.close()
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
    _cleanup(child.boot)
    return RunResult(code, str(host.session), sealed.frames)


def _control_channel(
    control: ControlSetup | None,
    profile: Profile,
    profile_ref: str,
    relay: _Relay,
    child: _Child,
) -> ControlChannel | None:
    if control is None:
        return None
    from sealog.keep._control_channel import ControlChannel  # noqa: PLC0415 - see above

    sealed, host = relay.sealed, relay.host
    send = child.records.broadcast

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
