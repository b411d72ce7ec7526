"""``sealog profiles``: write out and inspect stage profiles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from sealog.cli._common import guarded
from sealog.errors import FormatError
from sealog.profile import (
    builtin_names,
    builtin_text,
    canonical_dict,
    profile_digest,
    resolve_profile,
)

__all__ = ["profiles"]


@click.group()
def profiles() -> None:
    """Stage profiles: write the built-in ones out, show one with its digest."""


@profiles.command("init")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite profile files that already exist.")
@guarded
def init(directory: Path, force: bool) -> None:
    """Write the built-in profiles into DIR as editable, commented TOML files."""
    targets = {name: directory / f"{name}.toml" for name in builtin_names()}
    if not force:
        # Check every file before writing any, so a refusal leaves DIR exactly as it was.
        for path in targets.values():
            if path.exists():
                raise FormatError(f"{path}: already exists (use --force to overwrite)")
    directory.mkdir(parents=True, exist_ok=True)
    for name, path in targets.items():
        path.write_text(builtin_text(name), encoding="utf-8")
        click.echo(f"wrote {path}")


def _show_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        # One per line: patterns may themselves contain commas.
        return "\n".join(str(item) for item in value) if value else "-"
    if value == "":
        return "-"
    return str(value)


@profiles.command("show")
@click.argument("profile", metavar="NAME|FILE")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: profile and digest.")
@guarded
def show(profile: str, as_json: bool) -> None:
    """Print a built-in or file profile, fully resolved, with its digest (hex)."""
    resolved = resolve_profile(profile)
    data = canonical_dict(resolved)
    digest = profile_digest(resolved).hex()
    if as_json:
        click.echo(json.dumps({"digest": digest, "profile": data}, sort_keys=True, indent=2))
        return
    table = Table(title=f"profile {resolved.name}", show_header=True)
    table.add_column("key", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in data.items():
        if isinstance(value, dict):
            for sub_key, sub_value in value.items():
                table.add_row(f"{key}.{sub_key}", _show_value(sub_value))
        elif key == "ring" and value is None:
            table.add_row("ring", "off (no flight recorder)")
        else:
            table.add_row(key, _show_value(value))
    # Markup off: profile text (patterns, descriptions) is data, not rich markup.
    Console(highlight=False, markup=False).print(table)
    # Outside the table so that a narrow terminal never wraps it: people copy and compare it.
    click.echo(f"digest {digest}")
