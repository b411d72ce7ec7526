"""Attestation: providers that obtain TEE evidence, offline verifiers, and appraisal.

Providers (``none``, configfs-tsm, Gramine) ask the platform to sign 64 bytes of report data.
The verifiers check real SEV-SNP reports and TDX v4 quotes up to AMD's and Intel's roots with
``cryptography`` only. :func:`appraise` answers a relying party's question about a session header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sealog._lazy import lazy_getattr
from sealog.attest._notes import UNATTESTED_NOTE

if TYPE_CHECKING:
    from sealog.attest._appraise import (
        Appraisal,
        AppraisalPolicy,
        AttestedHeader,
        Check,
        appraise,
        load_appraisal_policy,
        require,
    )
    from sealog.attest._chain import (
        load_certificate,
        load_pem_chain,
    )
    from sealog.attest._inspect import (
        evidence_fields,
        load_evidence,
        parse_evidence,
        parse_report_data,
        verify_evidence_files,
    )
    from sealog.attest._providers import (
        NONE_STATEMENT,
        PROVIDER_NAMES,
        GramineProvider,
        NoneProvider,
        Provider,
        TsmProvider,
        auto_provider,
        provider_by_name,
    )
    from sealog.attest._snp import (
        VCEK_GUID,
        SnpCertTable,
        SnpPolicy,
        SnpReport,
        SnpVerified,
        TcbVersion,
        looks_like_snp_report,
        verify_snp_report,
    )
    from sealog.attest._tdx import (
        QeReport,
        TdReport,
        TdxHeader,
        TdxQuote,
        TdxVerified,
        looks_like_tdx_quote,
        verify_tdx_quote,
    )

__all__ = [
    "NONE_STATEMENT",
    "PROVIDER_NAMES",
    "UNATTESTED_NOTE",
    "VCEK_GUID",
    "Appraisal",
    "AppraisalPolicy",
    "AttestedHeader",
    "Check",
    "GramineProvider",
    "NoneProvider",
    "Provider",
    "QeReport",
    "SnpCertTable",
    "SnpPolicy",
    "SnpReport",
    "SnpVerified",
    "TcbVersion",
    "TdReport",
    "TdxHeader",
    "TdxQuote",
    "TdxVerified",
    "TsmProvider",
    "appraise",
    "auto_provider",
    "evidence_fields",
    "load_appraisal_policy",
    "load_certificate",
    "load_evidence",
    "load_pem_chain",
    "looks_like_snp_report",
    "looks_like_tdx_quote",
    "parse_evidence",
    "parse_report_data",
    "provider_by_name",
    "require",
    "verify_evidence_files",
    "verify_snp_report",
    "verify_tdx_quote",
]

#: Verifiers and appraisal load ``cryptography.x509`` and the profile ladder: they are imported on
#: first use, so a Keep that only collects evidence starts without them. The providers too, so
#: that the owner's reader, which needs only :data:`UNATTESTED_NOTE`, starts without any of it.
_LAZY: dict[str, str] = {
    "NONE_STATEMENT": "sealog.attest._providers",
    "PROVIDER_NAMES": "sealog.attest._providers",
    "GramineProvider": "sealog.attest._providers",
    "NoneProvider": "sealog.attest._providers",
    "Provider": "sealog.attest._providers",
    "TsmProvider": "sealog.attest._providers",
    "auto_provider": "sealog.attest._providers",
    "provider_by_name": "sealog.attest._providers",
    "Appraisal": "sealog.attest._appraise",
    "AppraisalPolicy": "sealog.attest._appraise",
    "AttestedHeader": "sealog.attest._appraise",
    "Check": "sealog.attest._appraise",
    "QeReport": "sealog.attest._tdx",
    "SnpCertTable": "sealog.attest._snp",
    "SnpPolicy": "sealog.attest._snp",
    "SnpReport": "sealog.attest._snp",
    "SnpVerified": "sealog.attest._snp",
    "TcbVersion": "sealog.attest._snp",
    "TdReport": "sealog.attest._tdx",
    "TdxHeader": "sealog.attest._tdx",
    "TdxQuote": "sealog.attest._tdx",
    "TdxVerified": "sealog.attest._tdx",
    "VCEK_GUID": "sealog.attest._snp",
    "appraise": "sealog.attest._appraise",
    "evidence_fields": "sealog.attest._inspect",
    "load_appraisal_policy": "sealog.attest._appraise",
    "load_certificate": "sealog.attest._chain",
    "load_evidence": "sealog.attest._inspect",
    "load_pem_chain": "sealog.attest._chain",
    "looks_like_snp_report": "sealog.attest._snp",
    "looks_like_tdx_quote": "sealog.attest._tdx",
    "parse_evidence": "sealog.attest._inspect",
    "parse_report_data": "sealog.attest._inspect",
    "require": "sealog.attest._appraise",
    "verify_evidence_files": "sealog.attest._inspect",
    "verify_snp_report": "sealog.attest._snp",
    "verify_tdx_quote": "sealog.attest._tdx",
}


__getattr__ = lazy_getattr("sealog.attest", _LAZY)
