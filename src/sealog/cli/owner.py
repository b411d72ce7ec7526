"""``sealog keygen``, ``read``, ``verify`` and ``host-view``: the owner's commands."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from sealog.cli._common import appraisal_options, guarded, owner_key_option
from sealog.cli._source import store_source
from sealog.errors import FormatError
from sealog.host import host_view, is_nats
from sealog.owner import (
    OPEN,
    LineWriter,
    ProgressBar,
    Selection,
    TextRenderer,
    Verdict,
    follow_store,
    json_line,
    printable,
    record_json_line,
    select_json_lines,
    select_text_lines,
    verify_store,
)
from sealog.seal import KEMS, OwnerPrivateKey, generate_owner_key, write_key_pair

if TYPE_CHECKING:
    from sealog.owner import StreamSelection, TransparencyReport

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


#: verify's exit code when nothing failed but a session is still being written.
EXIT_OPEN = 3


def _colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


_STATUS_COLOUR = {"intact": "\x1b[32m", "truncated": "\x1b[33m", OPEN: "\x1b[33m"}
_FAILED_COLOUR = "\x1b[1;31m"


def _verdict_line(verdict: Verdict, colour: bool) -> str:
    """One line per session: the verdict (coloured on a terminal)."""
    status = verdict.status.upper()
    where = ""
    if verdict.header is not None:
        # The header's names are the launcher's choice: never raw on the owner's terminal.
        evidence = verdict.header.evidence.kind if verdict.header.evidence else "missing"
        where = (
            f" [keep {printable(verdict.header.keep_id)}, "
            f"profile {printable(verdict.header.profile_name)}, evidence {printable(evidence)}]"
        )
    if colour:
        status = f"{_STATUS_COLOUR.get(verdict.status, _FAILED_COLOUR)}{status}\x1b[0m"
        where = f"\x1b[2m{where}\x1b[0m" if where else ""
    return f"{verdict.session} {status}: {printable(verdict.message)}{where}\n"


def _warn(verdict: Verdict) -> int:
    """Report a session that is not intact on stderr; the exit code it calls for in ``read``."""
    sys.stderr.write(_verdict_line(verdict, _colour(sys.stderr)))
    sys.stderr.flush()
    return 0 if verdict.status in ("truncated", OPEN) else 1


@click.command()
@click.argument("store")
@owner_key_option
@click.option("--session", help="Only this session (an id or a unique prefix).")
@click.option("--level", help="Only records at this level or above (any case; warn, fatal).")
@click.option("--since", help="Only records from this time on: ISO 8601, or ago (10m, 2h, 1d).")
@click.option("--until", help="Only records before this time: ISO 8601, or ago (10m).")
@click.option("--logger", "loggers", multiple=True, help="Only this logger and its children.")
@click.option("--grep", help="Only records whose message or traceback matches this regex.")
@click.option(
    "--source",
    "sources",
    multiple=True,
    type=click.Choice(["workload", "runtime", "sealog"]),
    help="Only records from this source (repeatable).",
)
@click.option("--keep", "keeps", multiple=True, help="Only sessions of this Keep (id or prefix).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--follow",
    is_flag=True,
    help="Wait for the store, follow every session and pick up new ones, until interrupted.",
)
@click.option(
    "--merge/--no-merge",
    default=True,
    help="Several sessions merged by time (the default), or printed one after the other.",
)
@guarded
def read(
    store: str,
    key_path: Path,
    session: str | None,
    level: str | None,
    since: str | None,
    until: str | None,
    loggers: tuple[str, ...],
    grep: str | None,
    sources: tuple[str, ...],
    keeps: tuple[str, ...],
    as_json: bool,
    follow: bool,
    merge: bool,
) -> None:
    """Decrypt, verify and print the records of a store's sessions, merged by time.

    STORE is a folder or a nats:// source. Records are printed only as far as they
    authenticate; a session that is not intact is reported on stderr (exit 1, or 0 with a
    warning when it is unfinished or still open).
    """
    selection = Selection.parse(
        level=level,
        since=since,
        until=until,
        loggers=loggers,
        grep=grep,
        sources=sources,
        keeps=keeps,
    )
    key = OwnerPrivateKey.load(key_path)
    if not is_nats(store):
        if follow:
            _follow(Path(store), key, selection, session, as_json)
        else:
            _read(Path(store), key, selection, session, as_json, merge)
        return
    # A nats:// source is materialised into a private folder first, fetching only the sessions
    # the selection can use (the fleet's modules load only here).
    from sealog.owner import StreamSelection, open_source  # noqa: PLC0415

    fetch = StreamSelection(
        keep=keeps[0] if len(keeps) == 1 else None,
        session=session,
        since=selection.since,
        until=selection.until,
    )
    with open_source(store, fetch, follow=follow) as folder:
        if follow:
            _follow(folder, key, selection, session, as_json)
        else:
            _read(folder, key, selection, session, as_json, merge)


def _read(
    store: Path,
    key: OwnerPrivateKey,
    selection: Selection,
    session: str | None,
    as_json: bool,
    merge: bool,
) -> None:
    # Lines straight from the decoded rows, a batch's lines per string.
    if as_json:
        chosen, lines = select_json_lines(store, key, selection, session=session, merge=merge)
    else:
        chosen, lines = select_text_lines(
            store, key, selection, session=session, merge=merge, colour=_colour(sys.stdout)
        )
    LineWriter(sys.stdout, chunk=32).write_all(lines)
    worst = 0
    for reader in chosen:
        verdict = reader.verdict()
        if not verdict.ok and (
            verdict.header is None or selection.wants_keep(verdict.header.keep_id)
        ):
            worst = max(worst, _warn(verdict))
    sys.exit(worst)


def _follow(
    store: Path, key: OwnerPrivateKey, selection: Selection, session: str | None, as_json: bool
) -> None:
    out = LineWriter(sys.stdout, chunk=1)
    # Sessions come and go while following: every line carries its Keep and session.
    renderer = TextRenderer(colour=_colour(sys.stdout), session_column=True, keep_column=True)
    line = record_json_line if as_json else renderer.render

    def ended(verdict: Verdict) -> None:
        if not verdict.ok:
            _warn(verdict)

    try:
        for view in follow_store(store, key, selection, session=session, on_end=ended):
            out.write(line(view))
    except KeyboardInterrupt:
        out.flush()
        sys.exit(0)


@click.command()
@click.argument("store")
@owner_key_option
@click.option("--session", help="Only this session (an id or a unique prefix).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per session, per line.")
@appraisal_options
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
    """Verify every session: exit 0 when all are intact and closed (and, when asked, attested
    as required and announced in the audit log), 1 on any integrity, attestation or
    transparency failure, 3 when none failed but a session is still open (being written),
    2 on bad input."""
    if audit_log is None and (since_path is not None or log_key_path is not None):
        raise FormatError("--log-since and --log-key go with --audit-log")
    if audit_log is not None and (session or selection.since or selection.until):
        # A part of the store would make every announced session outside it look deleted.
        raise FormatError("--audit-log checks whole Keeps: drop --session, --since and --until")
    key = OwnerPrivateKey.load(key_path)
    from sealog.attest import load_appraisal_policy  # noqa: PLC0415 - only when verifying

    policy = load_appraisal_policy(
        require_profile, require_tee, trust_roots, allow_debug_tee, allow_unattested
    )
    report = None
    if audit_log is not None:
        # The audit log's modules load only for this check.
        from sealog.audit import SignedTreeHead, VerifyKey  # noqa: PLC0415
        from sealog.owner import check_transparency  # noqa: PLC0415

        since = SignedTreeHead.load(since_path) if since_path is not None else None
        log_key = VerifyKey.load(log_key_path) if log_key_path is not None else None
        # First: it also judges a store the host emptied, which verify_store refuses.
        report = check_transparency(
            store, key, audit_log, since=since, log_key=log_key, keep=selection.keep
        )
    verdicts: list[Verdict] = []
    if report is None or report.stored:
        with ProgressBar("verifying") as bar:
            progress = bar.update if bar.enabled else None
            verdicts = verify_store(store, key, session, require=policy, progress=progress)
    _report(verdicts, as_json)
    ok = all(v.ok for v in verdicts)
    if audit_log is not None and report is not None:
        _report_transparency(audit_log, report, as_json)
        ok = ok and report.ok
    if ok:
        sys.exit(0)
    sys.exit(EXIT_OPEN if report is None and all(v.ok or v.status == OPEN for v in verdicts) else 1)


def _report(verdicts: list[Verdict], as_json: bool) -> None:
    out = LineWriter(sys.stdout)
    colour = _colour(sys.stdout)
    for v in verdicts:
        if as_json:
            out.write(json_line(v.to_json()))
            continue
        out.write(_verdict_line(v, colour))
        if len(v.timeline) > 1:
            for span in v.timeline:
                out.write(f"    profile {printable(span.describe())}\n")
    out.flush()


def _report_transparency(log: Path, report: TransparencyReport, as_json: bool) -> None:
    out = LineWriter(sys.stdout)
    if as_json:
        body = {
            "audit_log": str(log),
            "log_size": report.log.size,
            "since_size": report.log.since_size,
            "ok": report.ok,
            "sessions": [s.to_json() for s in report.sessions],
        }
        out.write(json_line({"transparency": body}))
        out.flush()
        return
    since = report.log.since_size
    consistent = f", consistent with size {since} seen before" if since is not None else ""
    out.write(f"audit log {printable(str(log))}: intact, {report.log.size} entries{consistent}\n")
    for keep, sessions in report.by_keep().items():
        announced = sum(1 for s in sessions if s.leaf_index is not None)
        out.write(f"keep {printable(keep)}: {announced} announced, {len(sessions)} sessions\n")
        for s in sessions:
            when = s.started.strftime("%Y-%m-%dT%H:%M:%SZ")
            out.write(
                f"  {s.status.upper():<12} {s.session} started {when}: {printable(s.message)}\n"
            )
    out.flush()


@click.command("host-view")
@click.argument("store")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per session, per line.")
@guarded
@store_source
def host_view_cmd(store: Path, as_json: bool) -> None:
    """Show exactly what the host can read in a store: no key is used, nothing else is there."""
    view = host_view(store)
    out = LineWriter(sys.stdout)
    if as_json:
        for s in view.sessions:
            out.write(
                json_line(
                    {
                        "session": s.session,
                        "header": s.header,
                        "frames": s.frames,
                        "frame_sizes": list(s.frame_sizes),
                        "times": list(s.times),
                        "events": list(s.events),
                        "file_bytes": s.file_bytes,
                    }
                )
            )
        out.flush()
        return
    out.write(
        f"What the host can read in {printable(str(store))} (no key used). Records are sealed: "
        "only their encrypted frames' sizes and arrival times are visible.\n"
    )
    # Plain "name: value" lines, never cut to a terminal's width: a digest must stay whole.
    for s in view.sessions:
        h = s.header
        launch = h.get("launch", {}) if isinstance(h.get("launch"), dict) else {}
        evidence = h.get("evidence") or {}
        sizes = sorted(set(s.frame_sizes))
        size_text = ", ".join(str(x) for x in sizes[:6]) + (" ..." if len(sizes) > 6 else "")
        rows = [
            ("keep", str(h.get("keep", "?"))),
            ("profile", f"{launch.get('profile', '?')} ({launch.get('stage', '?')})"),
            ("profile digest", str(launch.get("profile_digest", "?"))),
            ("owner key id", str(launch.get("owner_key_id", "?"))),
            ("evidence", str(evidence.get("kind", "?") if isinstance(evidence, dict) else "?")),
            ("frames", f"{s.frames} (sizes in bytes: {size_text or '-'})"),
        ]
        if len(s.times) >= 2:
            gaps = [b - a for a, b in zip(s.times, s.times[1:], strict=False)]
            span = s.times[-1] - s.times[0]
            rows.append(
                ("frame timing", f"{span:.1f} s span, gaps {min(gaps):.2f}..{max(gaps):.2f} s")
            )
        rows += [("sealed bytes", str(s.file_bytes)), ("host events", str(len(s.events)))]
        # Everything here is the host's to write: one line each, no escapes.
        out.write(f"\nsession {printable(s.session)}\n")
        for name, value in rows:
            out.write(f"  {name + ':':<16} {printable(value)}\n")
        for event in s.events:
            out.write("  " + json.dumps(event, sort_keys=True) + "\n")
    out.flush()
