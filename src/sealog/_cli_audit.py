"""``sealog audit``, ``sealog approver`` and ``sealog order``: the control process."""

from __future__ import annotations

import click

__all__ = ["approver", "audit", "order"]


@click.group()
def audit() -> None:
    """The append-only audit log of change orders (RFC 9162 Merkle tree)."""


@click.group()
def approver() -> None:
    """Approver signing keys."""


@click.group()
def order() -> None:
    """Change orders: create, sign, inspect."""
