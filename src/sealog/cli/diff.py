"""``sealog diff``: where two sessions first diverge."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from sealog.cli._common import fail, guarded, owner_key_option
from sealog.cli._source import session_spec
from sealog.errors import FormatError
from sealog.owner import (
    LEVEL_STYLE,
    DiffReport,
    LineWriter,
    Located,
    OwnerPrivateKey,
    ProgressBar,
    Record,
    StoreDiff,
    diff_stores,
    json_line,
    printable,
    split_session_spec,
)

__all__ = ["diff"]


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


def _print_human(console: Console, names: tuple[str, str], result: DiffReport) -> None:
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
    for title, items, count in (
        ("only in A", result.only_a, result.only_a_count),
        ("only in B", result.only_b, result.only_b_count),
    ):
        if count:
            console.print()
            shown = f", first {len(items)} shown" if len(items) < count else ""
            console.print(Text(f"{title} ({count}{shown}):", style="bold"))
            for item in items:
                console.print(_line(item), soft_wrap=True)
    if result.fingerprint_changes:
        console.print()
        console.print(
            Text(f"fingerprint items that differ ({len(result.fingerprint_changes)}):", "bold")
        )
        for k, (va, vb) in result.fingerprint_changes.items():
            console.print(f"  {k}: A {_value(va)}  B {_value(vb)}", soft_wrap=True)
    console.print()
    console.print(result.summary(), highlight=False)


def _print_json(specs: tuple[str, str], diffed: StoreDiff) -> None:
    """One object per line: the summary first, then one line per record only one side has."""
    result = diffed.report
    out = LineWriter(sys.stdout)
    head: dict[str, Any] = {}
    for label, spec, verdict in (
        ("a", specs[0], diffed.verdict_a),
        ("b", specs[1], diffed.verdict_b),
    ):
        head[label] = {"spec": spec, "session": verdict.session, "status": verdict.status}
    first = result.first_divergence
    failing_a, failing_b = result.failing_only_a, result.failing_only_b
    head |= {
        "same": result.same,
        "counts": result.counts(),
        "first_divergence": first.to_json() if first else None,
        "first_failing_call": {
            "a": failing_a.to_json() if failing_a else None,
            "b": failing_b.to_json() if failing_b else None,
        },
        "fingerprint_changes": {k: list(v) for k, v in result.fingerprint_changes.items()},
    }
    out.write(json_line(head))
    for side, items in (("a", result.only_a), ("b", result.only_b)):
        for item in items:
            out.write(json_line({"only": side, **item.to_json()}))
    out.flush()


@click.command()
@click.argument("a")
@click.argument("b")
@owner_key_option
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per line: the summary, then each record only one side has.",
)
@click.option(
    "--context",
    type=int,
    default=3,
    show_default=True,
    help="Records shown before and from the divergence, on each side.",
)
@click.option(
    "--max",
    "max_items",
    type=int,
    default=50,
    show_default=True,
    help="Records only one side has, printed per side (all are counted).",
)
@guarded
def diff(a: str, b: str, key_path: Path, as_json: bool, context: int, max_items: int) -> None:
    """Align two sessions (STORE[:SESSION]) and report where they first diverge.

    Times, ids, addresses, pids, temporary paths and measurements are ignored. Exit 0 when the
    sessions match, 1 when they differ, 2 on bad input. A session that does not verify as
    intact is reported on stderr, and what of it authenticated is compared.
    """
    if context < 0:
        raise FormatError(f"--context must be 0 or more records, not {context}")
    if max_items < 0:
        raise FormatError(f"--max must be 0 or more records, not {max_items}")
    key = OwnerPrivateKey.load(key_path)
    spec_a, spec_b = session_spec(a), session_spec(b)  # a nats:// source becomes a folder
    with ProgressBar("comparing") as bar:
        diffed = diff_stores(
            split_session_spec(spec_a),
            split_session_spec(spec_b),
            key,
            context=context,
            max_items=max_items,
            progress=bar.update if bar.enabled else None,
        )
    result = diffed.report
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for label, verdict in (("A", diffed.verdict_a), ("B", diffed.verdict_b)):
        if not verdict.ok:
            err.print(
                f"sealog: warning: session {label} ({verdict.session}) is {verdict.status}: "
                f"{verdict.message}; comparing the records that authenticated "
                f"({verdict.records})",
                highlight=False,
            )
    if not result.records_a and not result.records_b:
        fail("neither session has a record that authenticates: nothing to compare", 1)
    if as_json:
        _print_json((a, b), diffed)
    else:
        names = (
            f"{split_session_spec(a)[0]} session {diffed.verdict_a.session}",
            f"{split_session_spec(b)[0]} session {diffed.verdict_b.session}",
        )
        _print_human(Console(highlight=False, soft_wrap=True), names, result)
    sys.exit(0 if result.same else 1)
