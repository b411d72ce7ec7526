"""``sealog diff``: where two sessions first diverge."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from sealog.cli._common import fail, guarded
from sealog.cli._source import session_spec
from sealog.errors import FormatError
from sealog.owner import (
    LEVEL_STYLE,
    DiffResult,
    Located,
    OwnerPrivateKey,
    Record,
    diff_sessions,
    load_session,
    printable,
)

__all__ = ["diff"]

_PATH = click.Path(path_type=Path)


def _fields_text(record: Record) -> str:
    if not record.fields or record.logger == "sealog.fingerprint":
        return ""
    return " " + json.dumps(dict(record.fields), ensure_ascii=False, default=str)


def _line(item: Located, marker: str = " ") -> Text:
    record = item.record
    line = Text()
    line.append(f"{marker} {item.index:>5}  ")
    line.append(f"{record.level_name:<8} ", style=LEVEL_STYLE.get(record.level_name, ""))
    line.append(f"{printable(str(record.source))}:{printable(str(record.logger))} ", style="cyan")
    line.append(printable(str(record.message)))
    line.append(printable(_fields_text(record)), style="dim")
    if record.exception is not None:
        exc = record.exception
        text = f" [{exc.type}: {exc.message}]" if exc.message else f" [{exc.type}]"
        line.append(printable(text))
    return line


def _block(console: Console, title: str, items: tuple[Located, ...], at: int) -> None:
    console.print(Text(title, style="bold"))
    if not items:
        console.print("    (no records)")
    for item in items:
        console.print(_line(item, ">" if item.index == at else " "), soft_wrap=True)
    if all(item.index != at for item in items):
        console.print(f">  {at:>5}  (end of session)")


def _value(v: Any) -> str:
    return "(absent)" if v is None else json.dumps(v, default=str)


def _print_human(console: Console, names: tuple[str, str], result: DiffResult) -> None:
    name_a, name_b = names
    first = result.first_divergence
    if first is None:
        head = "sessions match" if result.same else "records match; the platforms differ"
        console.print(Text(head, style="green" if result.same else "yellow bold"))
    else:
        console.print(
            Text(
                f"sessions diverge at record {first.index_a} (A) / {first.index_b} (B)",
                style="bold red",
            )
        )
    console.print(f"  A = {name_a}\n  B = {name_b}")
    for side, failing in (("A", result.failing_only_a), ("B", result.failing_only_b)):
        if failing is not None:
            console.print(Text(f"first failing call only in {side}:", style="bold red"))
            console.print(_line(failing), soft_wrap=True)
    if first is not None:
        console.print()
        _block(console, "A, around the divergence:", first.context_a, first.index_a)
        _block(console, "B, around the divergence:", first.context_b, first.index_b)
    for title, items in (("only in A", result.only_a), ("only in B", result.only_b)):
        if items:
            console.print()
            console.print(Text(f"{title} ({len(items)}):", style="bold"))
            for item in items:
                console.print(_line(item), soft_wrap=True)
    if result.fingerprint_changes:
        console.print()
        console.print(
            Text(f"fingerprint items that differ ({len(result.fingerprint_changes)}):", "bold")
        )
        for k, (va, vb) in result.fingerprint_changes.items():
            console.print(f"  {k}: A {_value(va)}  B {_value(vb)}", soft_wrap=True)


@click.command()
@click.argument("a")
@click.argument("b")
@click.option("--key", "key_path", type=_PATH, required=True, help="The owner's private key.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with the whole result.")
@click.option(
    "--context",
    type=int,
    default=3,
    show_default=True,
    help="Records shown before and from the divergence, on each side.",
)
@guarded
def diff(a: str, b: str, key_path: Path, as_json: bool, context: int) -> None:
    """Align two sessions (STORE[:SESSION]) and report where they first diverge.

    Times, ids, addresses, pids, temporary paths and measurements are ignored. Exit 0 when the
    sessions match, 1 when they differ, 2 on bad input. A session that does not verify as
    intact is reported on stderr, and what of it authenticated is compared.
    """
    if context < 0:
        raise FormatError(f"--context must be 0 or more records, not {context}")
    key = OwnerPrivateKey.load(key_path)
    name_a, records_a, verdict_a = load_session(session_spec(a), key)
    name_b, records_b, verdict_b = load_session(session_spec(b), key)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for label, verdict in (("A", verdict_a), ("B", verdict_b)):
        if not verdict.ok:
            err.print(
                f"sealog: warning: session {label} ({verdict.session}) is {verdict.status}: "
                f"{verdict.message}; comparing the {verdict.records} records that authenticated",
                highlight=False,
            )
    if not records_a and not records_b:
        fail("neither session has a record that authenticates: nothing to compare", 1)
    result = diff_sessions(records_a, records_b, context=context)
    if as_json:
        out = {"a": {"spec": a, "session": verdict_a.session, "status": verdict_a.status}}
        out["b"] = {"spec": b, "session": verdict_b.session, "status": verdict_b.status}
        sys.stdout.write(json.dumps({**out, **result.to_json()}, default=str) + "\n")
    else:
        console = Console(highlight=False, soft_wrap=True)
        _print_human(console, (name_a, name_b), result)
    sys.exit(0 if result.same else 1)
