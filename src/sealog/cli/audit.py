"""``sealog audit``, ``sealog approver`` and ``sealog order``: the control process."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sealog.audit import (
    ALL_KEEPS,
    AuditLog,
    ChangeOrder,
    OrderBundle,
    OrderInclusion,
    SessionAnnouncement,
    SignedTreeHead,
    SigningKey,
    VerifyKey,
    announce_session,
    announcement_file,
    check_order,
    format_duration,
    format_time,
    load_control_policy,
    order_digest,
    parse_duration,
    write_key_pair,
)
from sealog.cli._common import guarded
from sealog.errors import FormatError
from sealog.host import Store
from sealog.owner import printable
from sealog.seal import read_session_header

__all__ = ["approver", "audit", "order"]

_PATH = click.Path(path_type=Path)


def _now() -> datetime:
    # The one place the control commands read the clock; the library takes time as an argument.
    return datetime.now(UTC).replace(microsecond=0)


def _describe_sth(sth: SignedTreeHead, key: VerifyKey | None = None) -> str:
    signer = f", signed by {key.key_id}" if key is not None else ""
    return f"size {sth.size}, root {sth.root_hash.hex()}, {format_time(sth.time)}{signer}"


# -- approver -------------------------------------------------------------------------------


@click.group()
def approver() -> None:
    """Approver signing keys (also used as audit log keys)."""


@approver.command("keygen")
@click.argument("prefix", type=_PATH)
@click.option("--force", is_flag=True, help="Overwrite existing key files.")
@guarded
def approver_keygen(prefix: Path, force: bool) -> None:
    """Write an Ed25519 key pair: PREFIX.key (PEM, mode 0600) and PREFIX.pub (one line)."""
    key = SigningKey.generate()
    key_path, pub_path = write_key_pair(key, prefix, force=force)
    click.echo(f"wrote {key_path} (private, keep it safe) and {pub_path}")
    click.echo(f"key id {key.key_id}")
    click.echo(key.public_key.to_text())


# -- audit ----------------------------------------------------------------------------------


@click.group()
def audit() -> None:
    """The append-only audit log of change orders (RFC 9162 Merkle tree)."""


@audit.command("init")
@click.argument("directory", type=_PATH)
@click.option(
    "--key",
    "key_path",
    type=_PATH,
    required=True,
    help="The log's Ed25519 private key (from `sealog approver keygen`).",
)
@guarded
def audit_init(directory: Path, key_path: Path) -> None:
    """Create an empty audit log in DIRECTORY, signed with the log key."""
    key = SigningKey.load(key_path)
    log = AuditLog.init(directory, key)
    click.echo(f"created audit log {directory}, log key id {key.key_id}")
    click.echo(f'audit_log_key = "{log.public_key.to_text()}"')


@audit.command("append")
@click.argument("directory", type=_PATH)
@click.argument("order_path", metavar="ORDER", type=_PATH)
@click.option("-o", "--output", type=_PATH, help="Write the order bundle for the Keep here.")
@guarded
def audit_append(directory: Path, order_path: Path, output: Path | None) -> None:
    """Append a signed change order and print its inclusion proof and the new tree head."""
    signed = ChangeOrder.load(order_path)
    if not signed.signatures:
        raise FormatError(f"{order_path}: order has no signatures; sign it before logging it")
    log = AuditLog.open(directory)
    index, proof, sth = log.append(signed.entry_bytes())
    bundle = OrderBundle(signed, OrderInclusion(index, tuple(proof), sth))
    if output is not None:
        bundle.save(output)
    click.echo(f"leaf index {index}")
    click.echo(f"inclusion proof ({len(proof)} hashes):")
    for item in proof:
        click.echo(f"  {base64.b64encode(item).decode()}")
    click.echo(f"tree head: {_describe_sth(sth, log.public_key)}")
    if output is not None:
        click.echo(f"wrote bundle {output}")


@audit.command("announce")
@click.argument("directory", type=_PATH)
@click.argument("store", type=_PATH)
@click.option("--session", required=True, help="The waiting session (an id or a unique prefix).")
@click.option(
    "--control",
    "control_dir",
    type=_PATH,
    help="The Keep's control folder: write the bundle there as SESSION.announce.",
)
@click.option("-o", "--output", type=_PATH, help="Write the announcement bundle here.")
@guarded
def audit_announce(
    directory: Path, store: Path, session: str, control_dir: Path | None, output: Path | None
) -> None:
    """Log a Keep's session start (read from the store's header) and hand back its bundle."""
    found = Store.open(store)
    sid = found.resolve(session)
    header = read_session_header(found.seal_path(sid))
    log = AuditLog.open(directory)
    bundle = announce_session(log, header)
    targets = [
        p for p in (output, announcement_file(control_dir, sid) if control_dir else None) if p
    ]
    for path in targets:
        bundle.save(path)
    sth = bundle.inclusion.tree_head
    click.echo(f"session {sid} of keep {header.keep_id}: leaf index {bundle.inclusion.leaf_index}")
    click.echo(f"tree head: {_describe_sth(sth, log.public_key)}")
    for path in targets:
        click.echo(f"wrote bundle {path}")


@audit.command("verify")
@click.argument("directory", type=_PATH)
@click.option(
    "--since",
    "since_path",
    type=_PATH,
    help="A tree head seen before (a copy of sth.json); the log must extend it.",
)
@click.option("--log-key", "log_key_path", type=_PATH, help="The log public key you trust.")
@guarded
def audit_verify(directory: Path, since_path: Path | None, log_key_path: Path | None) -> None:
    """Check every entry, the latest tree head, and consistency with an earlier tree head."""
    since = SignedTreeHead.load(since_path) if since_path is not None else None
    log_key = VerifyKey.load(log_key_path) if log_key_path is not None else None
    log = AuditLog.open(directory)
    result = log.verify(since=since, log_key=log_key)
    click.echo(f"audit log intact: {result.size} entries")
    click.echo(f"tree head: {_describe_sth(result.tree_head, log.public_key)}")
    if result.since_size is not None:
        click.echo(f"consistent with the tree head of size {result.since_size} seen before")


@audit.command("show")
@click.argument("directory", type=_PATH)
@guarded
def audit_show(directory: Path) -> None:
    """List the log's entries (change orders, session announcements) in a table."""
    log = AuditLog.open(directory)
    sth = log.tree_head()
    table = Table(title=f"audit log {directory} ({log.size} entries)")
    for column in ("#", "keep", "profile", "from", "until", "signatures", "reason"):
        table.add_column(column)
    for index, data in log.entries():
        try:
            entry = ChangeOrder.from_entry_bytes(data)
        except FormatError:
            table.add_row(str(index), *_other_entry(data))
            continue
        table.add_row(
            str(index),
            entry.keep,
            entry.profile + (" +flight-recorder" if entry.flight_recorder else ""),
            format_time(entry.not_before),
            format_time(entry.not_after),
            ", ".join(s.key_id for s in entry.signatures),
            escape(printable(entry.reason)),  # free text from the order: no markup, no escapes
        )
    console = Console(highlight=False)
    if not console.is_terminal:
        # Piped output is read by scripts and people alike: never cut times or key ids short.
        console = Console(highlight=False, width=200)
    console.print(table)
    console.print(f"tree head: {_describe_sth(sth)} (not verified; run `sealog audit verify`)")


def _other_entry(data: bytes) -> tuple[str, str, str, str, str, str]:
    """The table cells of an entry that is not a change order."""
    try:
        started = SessionAnnouncement.from_entry_bytes(data)
    except FormatError:
        return "", "(not a change order)", "", "", "", ""
    return (
        started.keep,
        f"session {started.session} started",
        format_time(started.started),
        "",
        "",
        "(session announcement)",
    )


# -- order ----------------------------------------------------------------------------------


@click.group()
def order() -> None:
    """Change orders: create, sign, inspect."""


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
        # A time without a zone is read as UTC: orders are always in UTC.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise FormatError(f"--not-before: expected an ISO 8601 time, got {text!r}") from exc


@order.command("create")
@click.option("--keep", "keep", help="The Keep id the order is for.")
@click.option("--all", "all_keeps", is_flag=True, help="The order is for every Keep.")
@click.option("--profile", required=True, help="The target profile name.")
@click.option("--for", "duration", required=True, help="How long: 30s, 15m, 2h, 1d.")
@click.option("--reason", required=True, help="Why (recorded in the audit log).")
@click.option("--flight-recorder", is_flag=True, help="Ask the Keep to seal its flight recorder.")
@click.option("--not-before", help="Start of the window, ISO 8601 (default: now).")
@click.option("-o", "--output", type=_PATH, required=True, help="The order file to write.")
@click.option("--force", is_flag=True, help="Overwrite an existing order file.")
@guarded
def order_create(
    keep: str | None,
    all_keeps: bool,
    profile: str,
    duration: str,
    reason: str,
    flight_recorder: bool,
    not_before: str | None,
    output: Path,
    force: bool,
) -> None:
    """Write a new, unsigned change order."""
    if (keep is None) == (not all_keeps):
        raise FormatError("give exactly one of --keep ID and --all")
    start = _parse_time(not_before) if not_before is not None else _now()
    if output.exists() and not force:
        raise FormatError(f"{output}: already exists (use --force to overwrite)")
    created = ChangeOrder.create(
        keep=keep if keep is not None else ALL_KEEPS,
        profile=profile,
        not_before=start,
        duration=parse_duration(duration, what="--for"),
        reason=reason,
        flight_recorder=flight_recorder,
    )
    created.save(output)
    click.echo(f"wrote {output}: {_summary(created)}")
    click.echo(f"digest {order_digest(created).hex()}")


def _summary(item: ChangeOrder) -> str:
    target = "every Keep" if item.keep == ALL_KEEPS else f"Keep {item.keep}"
    extra = ", flight recorder" if item.flight_recorder else ""
    return (
        f"{target} -> {item.profile} from {format_time(item.not_before)} "
        f"for {format_duration(item.duration)}{extra}"
    )


@order.command("sign")
@click.argument("order_path", metavar="ORDER", type=_PATH)
@click.option("--key", "key_path", type=_PATH, required=True, help="Your approver private key.")
@guarded
def order_sign(order_path: Path, key_path: Path) -> None:
    """Add your signature to ORDER (the file is replaced atomically)."""
    key = SigningKey.load(key_path)
    signed = ChangeOrder.load(order_path).sign(key)
    signed.save(order_path)
    count = len(signed.signatures)
    click.echo(f"signed {order_path} with key {key.key_id} (signatures: {count})")


def _load_order_or_bundle(path: Path) -> tuple[ChangeOrder, OrderBundle | None]:
    try:
        return ChangeOrder.load(path), None
    except FormatError as order_error:
        try:
            bundle = OrderBundle.load(path)
        except FormatError:
            raise order_error from None
        return bundle.order, bundle


@order.command("show")
@click.argument("order_path", metavar="ORDER", type=_PATH)
@guarded
def order_show(order_path: Path) -> None:
    """Print a change order (or an order bundle) for people."""
    item, bundle = _load_order_or_bundle(order_path)
    click.echo(f"keep:            {item.keep}")
    click.echo(f"profile:         {item.profile}")
    click.echo(f"not before:      {format_time(item.not_before)}")
    click.echo(f"not after:       {format_time(item.not_after)}")
    click.echo(f"duration:        {format_duration(item.duration)}")
    click.echo(f"flight recorder: {'yes' if item.flight_recorder else 'no'}")
    click.echo(f"nonce:           {item.nonce}")
    click.echo(f"reason:          {printable(item.reason)}")
    click.echo(f"digest:          {order_digest(item).hex()}")
    click.echo(f"signatures:      {len(item.signatures)}")
    for sig in item.signatures:
        click.echo(f"  key {sig.key_id}")
    if bundle is not None:
        sth = bundle.inclusion.tree_head
        click.echo(f"audit log leaf:  {bundle.inclusion.leaf_index}")
        click.echo(f"tree head:       {_describe_sth(sth)} (not verified)")


@order.command("check")
@click.argument("bundle_path", metavar="BUNDLE", type=_PATH)
@click.option("--policy", "policy_path", type=_PATH, required=True, help="The control policy.")
@click.option("--keep", "keep_id", required=True, help="The Keep id to check the order for.")
@guarded
def order_check(bundle_path: Path, policy_path: Path, keep_id: str) -> None:
    """Check an order bundle as the Keep would, now (exit 0 applies, 1 refused, 2 bad input)."""
    policy = load_control_policy(policy_path)
    bundle = OrderBundle.load(bundle_path)
    approval = check_order(
        bundle.order,
        policy,
        keep_id=keep_id,
        now=_now(),
        seen_nonces=(),
        inclusion=bundle.inclusion,
    )
    click.echo(
        f"order applies: Keep {keep_id} -> {approval.target} until {format_time(approval.expires)}"
    )
    click.echo(f"approved by {', '.join(approval.approvers)}")
    click.echo(f"logged as leaf {approval.leaf_index} of tree size {approval.tree_size}")
    click.echo(f"digest {approval.digest.hex()}")
