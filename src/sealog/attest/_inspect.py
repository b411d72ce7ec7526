"""Evidence as a person meets it: a file of unknown kind, its fields, and an offline check.

What ``sealog attest inspect`` and ``sealog attest verify`` do, as library functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sealog._files import read_bytes
from sealog.attest._chain import load_certificate, load_pem_chain
from sealog.attest._snp import SnpReport, looks_like_snp_report, verify_snp_report
from sealog.attest._tdx import TdxQuote, looks_like_tdx_quote, verify_tdx_quote
from sealog.errors import AttestationError, FormatError

__all__ = [
    "evidence_fields",
    "load_evidence",
    "parse_evidence",
    "parse_report_data",
    "verify_evidence_files",
]

#: Bytes of report data a TEE signs.
_REPORT_DATA_SIZE = 64


def parse_evidence(data: bytes, source: str = "evidence") -> SnpReport | TdxQuote:
    """Recognise and parse raw evidence: an SEV-SNP report or a TDX v4 quote.

    Raises:
        FormatError: neither kind, or malformed.
    """
    if looks_like_snp_report(data):
        return SnpReport.from_bytes(data)
    if looks_like_tdx_quote(data):
        return TdxQuote.from_bytes(data)
    raise FormatError(
        f"{source}: unrecognised evidence (neither a 1184-byte SEV-SNP report nor a TDX v4 quote)"
    )


def load_evidence(path: Path) -> SnpReport | TdxQuote:
    """Read and parse an evidence file (see :func:`parse_evidence`).

    Raises:
        FormatError: missing, unreadable, or not evidence.
    """
    return parse_evidence(read_bytes(path, "evidence"), str(path))


def evidence_fields(evidence: SnpReport | TdxQuote) -> dict[str, Any]:
    """The fields of parsed evidence as a flat JSON-ready dict (``kind`` first)."""
    if isinstance(evidence, SnpReport):
        return _snp_fields(evidence)
    return _tdx_fields(evidence)


def parse_report_data(text: str) -> bytes:
    """Report data given as hex, zero-padded to 64 bytes as the hardware stores it.

    Raises:
        FormatError: not hex, empty, or longer than 64 bytes.
    """
    try:
        data = bytes.fromhex(text)
    except ValueError as exc:
        raise FormatError(f"--report-data: not hexadecimal ({exc})") from exc
    if not data or len(data) > _REPORT_DATA_SIZE:
        raise FormatError(f"--report-data: {len(data)} bytes, expected 1 to {_REPORT_DATA_SIZE}")
    return data.ljust(_REPORT_DATA_SIZE, b"\0")


def verify_evidence_files(
    evidence: Path,
    *,
    vcek: Path | None = None,
    chain: Path | None = None,
    root: Path | None = None,
    report_data: bytes | None = None,
) -> str:
    """Verify an evidence file offline against the given certificates; say what was verified.

    Args:
        evidence: an SEV-SNP report or a TDX v4 quote.
        vcek: SEV-SNP: the VCEK certificate (DER or PEM).
        chain: SEV-SNP: the ASK then the ARK (PEM).
        root: TDX: the trusted Intel root CA (PEM); SEV-SNP: an ARK to pin (optional).
        report_data: the 64 bytes the evidence must sign, if any.

    Returns:
        One line describing what was verified.

    Raises:
        FormatError: bad files, or certificates that do not fit the kind of evidence.
        AttestationError: the evidence does not verify.
    """
    parsed = load_evidence(evidence)
    if isinstance(parsed, SnpReport):
        if vcek is None or chain is None:
            raise FormatError("an SEV-SNP report needs --vcek CERT and --chain ASK_ARK_PEM")
        cert = load_certificate(read_bytes(vcek, "a VCEK certificate"), f"VCEK {vcek}")
        certs = load_pem_chain(read_bytes(chain, "a PEM chain"), f"chain {chain}")
        if len(certs) != 2:
            raise FormatError(f"chain {chain}: expected the ASK then the ARK, found {len(certs)}")
        pinned = load_pem_chain(read_bytes(root, "a PEM root"), f"root {root}") if root else None
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
        roots = load_pem_chain(read_bytes(root, "a PEM root"), f"root {root}")
        verify_tdx_quote(parsed, trusted_roots=roots)
        what = "TDX quote signed by the attestation key, QE and PCK chained to the root"
        signed = parsed.body.report_data
    if report_data is not None and signed != report_data:
        raise AttestationError(f"report data {signed.hex()[:16]}... does not match --report-data")
    bound = "; report data matches" if report_data is not None else ""
    return f"verified: {what}{bound}"


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
