"""``sealog profiles``: write out and inspect stage profiles."""

from __future__ import annotations

import click

__all__ = ["profiles"]


@click.group()
def profiles() -> None:
    """Stage profiles: write the built-in ones out, show one with its digest."""
