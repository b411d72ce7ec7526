"""Attestation: providers that obtain TEE evidence, offline verifiers, and appraisal.

Providers (``none``, configfs-tsm, Gramine) ask the platform to sign 64 bytes of report data.
The verifiers check real SEV-SNP reports and TDX v4 quotes up to AMD's and Intel's roots with
``cryptography`` only. :func:`appraise` answers a relying party's question about a session header.
"""

from sealog.attest._appraise import (
    Appraisal,
    AppraisalPolicy,
    AttestedHeader,
    Check,
    appraise,
    load_appraisal_policy,
    require,
)
from sealog.attest._chain import load_certificate, load_pem_chain
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
