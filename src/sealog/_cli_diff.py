"""``sealog diff``: where two sessions first diverge."""

from __future__ import annotations

import click

__all__ = ["diff"]


@click.command()
@click.argument("a")
@click.argument("b")
@click.option("--key", "key_path", required=True, help="The owner's private key.")
def diff(a: str, b: str, key_path: str) -> None:
    """Align two sessions (STORE[:SESSION]) and report where they first diverge."""
    raise click.UsageError("not implemented yet")
