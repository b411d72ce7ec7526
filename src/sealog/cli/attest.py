"""``sealog attest``: inspect and verify attestation evidence."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sealog.attest import (
    evidence_fields,
    load_evidence,
    parse_report_data,
    verify_evidence_files,
)
from sealog.cli._common import guarded

__all__ = ["attest"]


@click.group()
def attest() -> None:
    """Inspect and verify TEE attestation evidence (SEV-SNP reports, TDX quotes)."""


@attest.command()
@click.argument("evidence", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the fields as one JSON object.")
@guarded
def inspect(evidence: Path, as_json: bool) -> None:
    """Show the fields of an SEV-SNP report or TDX v4 quote (not verified)."""
    fields = evidence_fields(load_evidence(evidence))
    if as_json:
        click.echo(json.dumps(fields, indent=2))
        return
    width = max(len(k) for k in fields)
    for key, value in fields.items():
        if isinstance(value, list):
            shown = ",".join(value) or "-"
        elif isinstance(value, bool):
            shown = str(value).lower()
        else:
            shown = str(value)
        click.echo(f"{key:<{width}}  {shown}")


@attest.command()
@click.argument("evidence", type=click.Path(path_type=Path))
@click.option("--vcek", type=click.Path(path_type=Path), help="SEV-SNP: VCEK certificate.")
@click.option("--chain", type=click.Path(path_type=Path), help="SEV-SNP: ASK then ARK (PEM).")
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    help="TDX: trusted Intel root CA (PEM). SEV-SNP: the ARK to pin (optional).",
)
@click.option("--report-data", help="Hex the report data must equal (zero-padded to 64 bytes).")
@guarded
def verify(
    evidence: Path,
    vcek: Path | None,
    chain: Path | None,
    root: Path | None,
    report_data: str | None,
) -> None:
    """Verify evidence offline: exit 0 valid, 1 invalid, 2 bad input."""
    expected = parse_report_data(report_data) if report_data is not None else None
    verdict = verify_evidence_files(
        evidence, vcek=vcek, chain=chain, root=root, report_data=expected
    )
    click.echo(verdict)
