"""``sealog keygen``, ``read``, ``verify`` and ``host-view``: the owner's commands."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sealog.attest import load_appraisal_policy
from sealog.audit import SignedTreeHead, VerifyKey
from sealog.cli._common import guarded
from sealog.cli._source import store_source
from sealog.cli.fleet import print_merged
from sealog.errors import FormatError
from sealog.host import host_view
from sealog.owner import (
    SessionReader,
    StreamSelection,
    TransparencyReport,
    Verdict,
    check_transparency,
    print_record,
    print_verdict,
    printable,
    readers,
    record_json,
    verify_store,
)
from sealog.profile import LEVELS
from sealog.seal import KEMS, OwnerPrivateKey, generate_owner_key, write_key_pair

__all__ = ["host_view_cmd", "keygen", "read", "verify"]

_PATH = click.Path(path_type=Path)


@click.command()
@click.argument("prefix", type=_PATH)
@click.option("--kem", type=click.Choice(KEMS), default="x25519", show_default=True)
@click.option("--force", is_flag=True, help="Overwrite existing key files.")
@guarded
def keygen(prefix: Path, kem: str, force: bool) -> None:
    """Write the owner's key pair: PREFIX.key (mode 0600) and PREFIX.pub."""
    key = generate_owner_key(kem)
    key_path, pub_path = write_key_pair(key, prefix, force=force)
    click.echo(
        f"wrote {printable(str(key_path))} (private, keep it off the host) "
        f"and {printable(str(pub_path))}"
    )
    click.echo(f"key id {key.public_key.key_id} ({kem})")


def _level(name: str | None) -> int:
    if name is None:
        return 0
    level = LEVELS.get(name.upper())
    if level is None:
        raise FormatError(f"unknown level {name!r}: expected one of {', '.join(LEVELS)}")
    return level


@click.command()
@click.argument("store")
@click.option("--key", "key_path", type=_PATH, required=True, help="The owner's private key.")
@click.option("--session", help="Only this session (an id or a unique prefix).")
@click.option("--level", help="Only records at this level or above.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--follow", is_flag=True, help="Keep reading as frames arrive, until closed.")
@click.option(
    "--merge/--no-merge",
    default=None,
    help="All sessions merged by time, with keep and session columns (default for nats://).",
)
@guarded
@store_source
def read(
    store: Path,
    key_path: Path,
    session: str | None,
    level: str | None,
    as_json: bool,
    follow: bool,
    merge: bool,
    selection: StreamSelection,
) -> None:
    """Decrypt, verify and print the records of a store's sessions.

    Records are printed only as far as they authenticate; a session that is not intact is
    reported on stderr (exit 1, or 0 with a warning when it is merely unfinished).
    """
    min_level = _level(level)
    key = OwnerPrivateKey.load(key_path)
    console = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    worst = 0
    chosen = None
    if merge and not follow:
        chosen = print_merged(store, key, session, min_level, as_json, selection)
    for reader in chosen if chosen is not None else readers(store, key, session):
        _print_records(reader, console, min_level, as_json)
        while follow and not reader.closed and not reader.failed:
            time.sleep(0.2)
            _print_records(reader, console, min_level, as_json)
        verdict = reader.verdict()
        if not verdict.ok:
            print_verdict(err, verdict)
            worst = max(worst, 0 if verdict.status == "truncated" else 1)
    sys.exit(worst)


def _print_records(reader: SessionReader, console: Console, min_level: int, as_json: bool) -> None:
    launch = None
    for record in reader.read():
        if launch is None and reader.header is not None:
            launch = reader.header.profile_name
        if record.level < min_level:
            continue
        profile = reader.profile or ""
        if as_json:
            sys.stdout.write(record_json(reader.session, record, profile) + "\n")
        else:
            print_record(console, reader.session[:8], record, "" if profile == launch else profile)
    sys.stdout.flush()


@click.command()
@click.argument("store")
@click.option("--key", "key_path", type=_PATH, required=True, help="The owner's private key.")
@click.option("--session", help="Only this session (an id or a unique prefix).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per session.")
@click.option("--require-profile", help="Fail sessions whose profile is looser than this one.")
@click.option(
    "--require-tee",
    type=click.Choice(["snp", "tdx", "any"]),
    help="Fail sessions without verified evidence from this TEE.",
)
@click.option(
    "--trust-root",
    "trust_roots",
    multiple=True,
    type=_PATH,
    help="PEM: an AMD ASK+ARK chain (SEV-SNP) or a root CA (TDX). Repeatable.",
)
@click.option("--allow-debug-tee", is_flag=True, help="Accept a TEE in debug mode.")
@click.option(
    "--allow-unattested",
    is_flag=True,
    help="Let --require-* pass on sessions with 'none' evidence (they prove nothing).",
)
@click.option(
    "--audit-log",
    "audit_log",
    type=_PATH,
    help="Audit log folder: name sessions announced but missing, or present but unannounced.",
)
@click.option(
    "--log-since",
    "since_path",
    type=_PATH,
    help="With --audit-log: a tree head seen before (a copy of sth.json); the log must extend it.",
)
@click.option(
    "--log-key", "log_key_path", type=_PATH, help="With --audit-log: the log key you trust."
)
@guarded
@store_source
def verify(
    store: Path,
    key_path: Path,
    session: str | None,
    as_json: bool,
    require_profile: str | None,
    require_tee: str | None,
    trust_roots: tuple[Path, ...],
    allow_debug_tee: bool,
    allow_unattested: bool,
    audit_log: Path | None,
    since_path: Path | None,
    log_key_path: Path | None,
    selection: StreamSelection,
) -> None:
    """Verify every session: exit 0 only when all are intact and closed (and, when asked,
    attested as required and announced in the audit log), 1 on any integrity, attestation or
    transparency failure, 2 on bad input."""
    if audit_log is None and (since_path is not None or log_key_path is not None):
        raise FormatError("--log-since and --log-key go with --audit-log")
    if audit_log is not None and (session or selection.since or selection.until):
        # A part of the store would make every announced session outside it look deleted.
        raise FormatError("--audit-log checks whole Keeps: drop --session, --since and --until")
    key = OwnerPrivateKey.load(key_path)
    policy = load_appraisal_policy(
        require_profile, require_tee, trust_roots, allow_debug_tee, allow_unattested
    )
    since = SignedTreeHead.load(since_path) if since_path is not None else None
    log_key = VerifyKey.load(log_key_path) if log_key_path is not None else None
    report = None
    if audit_log is not None:
        # First: it also judges a store the host emptied, which verify_store refuses.
        report = check_transparency(
            store, key, audit_log, since=since, log_key=log_key, keep=selection.keep
        )
    verdicts = (
        [] if report and not report.stored else verify_store(store, key, session, require=policy)
    )
    _report(verdicts, as_json)
    ok = all(v.ok for v in verdicts)
    if audit_log is not None and report is not None:
        _report_transparency(audit_log, report, as_json)
        ok = ok and report.ok
    sys.exit(0 if ok else 1)


def _report_transparency(log: Path, report: TransparencyReport, as_json: bool) -> None:
    if as_json:
        out = {
            "audit_log": str(log),
            "log_size": report.log.size,
            "since_size": report.log.since_size,
            "ok": report.ok,
            "sessions": [s.to_json() for s in report.sessions],
        }
        sys.stdout.write(json.dumps({"transparency": out}) + "\n")
        return
    console = Console(highlight=False, soft_wrap=True)
    since = report.log.since_size
    consistent = f", consistent with size {since} seen before" if since is not None else ""
    console.print(f"audit log {log}: intact, {report.log.size} entries{consistent}", markup=False)
    for keep, sessions in report.by_keep().items():
        announced = sum(1 for s in sessions if s.leaf_index is not None)
        console.print(f"keep {keep}: {announced} announced, {len(sessions)} sessions", markup=False)
        for s in sessions:
            when = s.started.strftime("%Y-%m-%dT%H:%M:%SZ")
            console.print(
                f"  {s.status.upper():<12} {s.session} started {when}: {s.message}", markup=False
            )


def _report(verdicts: list[Verdict], as_json: bool) -> None:
    if as_json:
        for v in verdicts:
            sys.stdout.write(json.dumps(v.to_json()) + "\n")
        return
    console = Console(highlight=False, soft_wrap=True)
    for v in verdicts:
        print_verdict(console, v)
        if len(v.timeline) > 1:
            for span in v.timeline:
                console.print(
                    f"    profile {printable(span.describe())}", highlight=False, markup=False
                )


@click.command("host-view")
@click.argument("store")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@guarded
@store_source
def host_view_cmd(store: Path, as_json: bool) -> None:
    """Show exactly what the host can read in a store: no key is used, nothing else is there."""
    view = host_view(store)
    if as_json:
        out = [
            {
                "session": s.session,
                "header": s.header,
                "frames": s.frames,
                "frame_sizes": list(s.frame_sizes),
                "times": list(s.times),
                "events": list(s.events),
                "file_bytes": s.file_bytes,
            }
            for s in view.sessions
        ]
        sys.stdout.write(json.dumps(out, indent=1) + "\n")
        return
    console = Console(highlight=False, soft_wrap=True)
    console.print(
        f"[bold]What the host can read in {_shown(store)}[/bold] (no key used). "
        "Records are sealed: only their encrypted frames' sizes and arrival times are visible."
    )
    for s in view.sessions:
        h = s.header
        launch = h.get("launch", {}) if isinstance(h.get("launch"), dict) else {}
        evidence = h.get("evidence") or {}
        table = Table(title=f"session {_shown(s.session)}", show_header=False, title_justify="left")
        table.add_row("keep", _shown(h.get("keep", "?")))
        table.add_row(
            "profile", f"{_shown(launch.get('profile', '?'))} ({_shown(launch.get('stage', '?'))})"
        )
        table.add_row("profile digest", _shown(launch.get("profile_digest", "?")))
        table.add_row("owner key id", _shown(launch.get("owner_key_id", "?")))
        table.add_row(
            "evidence", _shown(evidence.get("kind", "?") if isinstance(evidence, dict) else "?")
        )
        sizes = sorted(set(s.frame_sizes))
        size_text = ", ".join(str(x) for x in sizes[:6]) + (" ..." if len(sizes) > 6 else "")
        table.add_row("frames", f"{s.frames} (sizes in bytes: {size_text or '-'})")
        if len(s.times) >= 2:
            gaps = [b - a for a, b in zip(s.times, s.times[1:], strict=False)]
            table.add_row(
                "frame timing",
                f"{s.times[-1] - s.times[0]:.1f} s span, gaps {min(gaps):.2f}..{max(gaps):.2f} s",
            )
        table.add_row("sealed bytes", str(s.file_bytes))
        table.add_row("host events", str(len(s.events)))
        console.print(table)
        for event in s.events:
            console.print("  " + json.dumps(event, sort_keys=True), highlight=False, markup=False)


def _shown(value: object) -> str:
    """A value from the store, safe for a rich table: one line, no escapes, no markup."""
    return escape(printable(str(value)))
