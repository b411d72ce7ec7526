"""``sealog attest``: inspect and verify attestation evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from sealog.attest import (
    SnpReport,
    TdxQuote,
    load_certificate,
    load_pem_chain,
    looks_like_snp_report,
    looks_like_tdx_quote,
    verify_snp_report,
    verify_tdx_quote,
)
from sealog.cli._common import guarded
from sealog.errors import AttestationError, FormatError
from sealog.seal import REPORT_DATA_SIZE

__all__ = ["attest"]


@click.group()
def attest() -> None:
    """Inspect and verify TEE attestation evidence (SEV-SNP reports, TDX quotes)."""


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FormatError(f"{what} {path}: {exc.strerror or exc}") from exc


def _parse(data: bytes, path: Path) -> SnpReport | TdxQuote:
    if looks_like_snp_report(data):
        return SnpReport.from_bytes(data)
    if looks_like_tdx_quote(data):
        return TdxQuote.from_bytes(data)
    raise FormatError(
        f"{path}: unrecognised evidence (neither a 1184-byte SEV-SNP report nor a TDX v4 quote)"
    )


def _snp_fields(r: SnpReport) -> dict[str, Any]:
    return {
        "kind": "sev-snp",
        "version": r.version,
        "guest_svn": r.guest_svn,
        "policy": f"{r.policy.raw:#x}",
        "policy_flags": r.policy.flags(),
        "policy_abi": f"{r.policy.abi_major}.{r.policy.abi_minor}",
        "debug": r.debug,
        "family_id": r.family_id.hex(),
        "image_id": r.image_id.hex(),
        "vmpl": r.vmpl,
        "signature_algo": r.signature_algo,
        "current_tcb": f"{r.current_tcb.raw:#018x}",
        "platform_info": f"{r.platform_info:#x}",
        "author_key_en": r.author_key_en,
        "mask_chip_key": r.mask_chip_key,
        "signing_key": r.signing_key,
        "report_data": r.report_data.hex(),
        "measurement": r.measurement.hex(),
        "host_data": r.host_data.hex(),
        "id_key_digest": r.id_key_digest.hex(),
        "author_key_digest": r.author_key_digest.hex(),
        "report_id": r.report_id.hex(),
        "report_id_ma": r.report_id_ma.hex(),
        "reported_tcb": f"{r.reported_tcb.raw:#018x}",
        "chip_id": r.chip_id.hex(),
        "committed_tcb": f"{r.committed_tcb.raw:#018x}",
        "current_version": f"{r.current_major}.{r.current_minor}.{r.current_build}",
        "committed_version": f"{r.committed_major}.{r.committed_minor}.{r.committed_build}",
        "launch_tcb": f"{r.launch_tcb.raw:#018x}",
        "signature_r": r.signature_r.hex(),
        "signature_s": r.signature_s.hex(),
    }


def _tdx_fields(q: TdxQuote) -> dict[str, Any]:
    b = q.body
    return {
        "kind": "tdx",
        "version": q.header.version,
        "attestation_key_type": q.header.attestation_key_type,
        "tee_type": f"{q.header.tee_type:#x}",
        "qe_vendor_id": q.header.qe_vendor_id.hex(),
        "tee_tcb_svn": b.tee_tcb_svn.hex(),
        "mr_seam": b.mr_seam.hex(),
        "mr_signer_seam": b.mr_signer_seam.hex(),
        "seam_attributes": b.seam_attributes.hex(),
        "td_attributes": b.td_attributes.hex(),
        "debug": b.debug,
        "xfam": b.xfam.hex(),
        "mr_td": b.mr_td.hex(),
        "mr_config_id": b.mr_config_id.hex(),
        "mr_owner": b.mr_owner.hex(),
        "mr_owner_config": b.mr_owner_config.hex(),
        "rtmr0": b.rtmr0.hex(),
        "rtmr1": b.rtmr1.hex(),
        "rtmr2": b.rtmr2.hex(),
        "rtmr3": b.rtmr3.hex(),
        "report_data": b.report_data.hex(),
        "qe_mr_enclave": q.qe_report.mr_enclave.hex(),
        "qe_mr_signer": q.qe_report.mr_signer.hex(),
        "qe_isv_svn": q.qe_report.isv_svn,
    }


@attest.command()
@click.argument("evidence", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the fields as one JSON object.")
@guarded
def inspect(evidence: Path, as_json: bool) -> None:
    """Show the fields of an SEV-SNP report or TDX v4 quote (not verified)."""
    parsed = _parse(_read(evidence, "evidence"), evidence)
    fields = _snp_fields(parsed) if isinstance(parsed, SnpReport) else _tdx_fields(parsed)
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


def _report_data(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        data = bytes.fromhex(text)
    except ValueError as exc:
        raise FormatError(f"--report-data: not hexadecimal ({exc})") from exc
    if not data or len(data) > REPORT_DATA_SIZE:
        raise FormatError(f"--report-data: {len(data)} bytes, expected 1 to {REPORT_DATA_SIZE}")
    # Shorter values are zero-padded, as the hardware stores them.
    return data.ljust(REPORT_DATA_SIZE, b"\0")


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
    expected = _report_data(report_data)
    parsed = _parse(_read(evidence, "evidence"), evidence)
    if isinstance(parsed, SnpReport):
        if vcek is None or chain is None:
            raise FormatError("an SEV-SNP report needs --vcek CERT and --chain ASK_ARK_PEM")
        cert = load_certificate(_read(vcek, "VCEK"), f"VCEK {vcek}")
        certs = load_pem_chain(_read(chain, "chain"), f"chain {chain}")
        if len(certs) != 2:
            raise FormatError(f"chain {chain}: expected the ASK then the ARK, found {len(certs)}")
        pinned = load_pem_chain(_read(root, "root"), f"root {root}") if root else None
        verified = verify_snp_report(
            parsed, vcek=cert, ask=certs[0], ark=certs[1], trusted_arks=pinned
        )
        what = f"SEV-SNP report signed by the {verified.product} VCEK, chained to the ARK"
        signed = parsed.report_data
    else:
        if vcek is not None or chain is not None:
            raise FormatError("--vcek and --chain apply to SEV-SNP reports; use --root for TDX")
        if root is None:
            raise FormatError("a TDX quote needs --root INTEL_ROOT_CA_PEM")
        roots = load_pem_chain(_read(root, "root"), f"root {root}")
        verify_tdx_quote(parsed, trusted_roots=roots)
        what = "TDX quote signed by the attestation key, QE and PCK chained to the root"
        signed = parsed.body.report_data
    if expected is not None and signed != expected:
        raise AttestationError(f"report data {signed.hex()[:16]}... does not match --report-data")
    bound = "; report data matches" if expected is not None else ""
    click.echo(f"verified: {what}{bound}")
