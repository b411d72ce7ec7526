"""``sealog pull`` and ``sessions``: the owner's fleet commands (NATS JetStream)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from sealog.cli._common import guarded
from sealog.cli._source import selection_from, selection_options, store_source
from sealog.errors import FormatError
from sealog.host import is_nats
from sealog.owner import (
    OwnerPrivateKey,
    printable,
    pull,
    verify_store,
)

__all__ = ["pull_cmd", "sessions"]

_PATH = click.Path(path_type=Path)


@click.command("pull")
@click.argument("source")
@click.argument("dest", type=_PATH)
@click.option("--session", help="Only this session (an id or a unique prefix).")
@selection_options
@guarded
def pull_cmd(
    source: str,
    dest: Path,
    session: str | None,
    keep: str | None,
    since: str | None,
    until: str | None,
) -> None:
    """Copy sessions from a nats:// SOURCE into the store folder DEST (read and verify it there).

    Each session pulled replaces DEST's copy of it.
    """
    if not is_nats(source):
        raise FormatError(f"{source!r}: pull reads a nats:// source")
    pulled = pull(source, dest, selection_from(keep, session, since, until))
    click.echo(f"pulled {len(pulled)} session(s) into {dest}")


@click.command()
@click.argument("store")
@click.option("--key", "key_path", type=_PATH, required=True, help="The owner's private key.")
@click.option("--session", help="Only this session (an id or a unique prefix).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per session.")
@guarded
@store_source
def sessions(store: Path, key_path: Path, session: str | None, as_json: bool) -> None:
    """List the Keeps and sessions of a store or nats:// source, one line each, with verdicts.

    Exit 0 when every session is intact and closed, 1 otherwise (as verify).
    """
    key = OwnerPrivateKey.load(key_path)
    verdicts = verify_store(store, key, session)
    verdicts.sort(
        key=lambda v: (
            v.header.keep_id if v.header else "",
            v.header.created if v.header else 0,
            v.session,
        )
    )
    console = Console(highlight=False, soft_wrap=True)
    for v in verdicts:
        if as_json:
            sys.stdout.write(json.dumps(v.to_json(), sort_keys=True) + "\n")
            continue
        keep = printable(v.header.keep_id) if v.header else "?"
        created = _when(v.header.created) if v.header else "?"
        style = "green" if v.ok else ("yellow" if v.status == "truncated" else "bold red")
        line = Text(f"{keep:<16} {v.session}  {created}  ")
        line.append(f"{v.status.upper():<16}", style=style)
        line.append(f" {v.frames} frames, {v.records} records")
        console.print(line)
    sys.exit(0 if all(v.ok for v in verdicts) else 1)


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
