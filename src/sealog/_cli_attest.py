"""``sealog attest``: inspect and verify attestation evidence."""

from __future__ import annotations

import click

__all__ = ["attest"]


@click.group()
def attest() -> None:
    """Inspect and verify TEE attestation evidence (SEV-SNP reports, TDX quotes)."""
