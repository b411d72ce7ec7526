"""Appraisal: what a key broker decides from a session header's evidence and profile."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from attest_snp_builder import DEBUG_BIT, PROD_POLICY, make_chain, shared_chain
from attest_tsm_tree import TsmTree

from sealog.attest import (
    AppraisalPolicy,
    AttestedHeader,
    NoneProvider,
    TsmProvider,
    appraise,
    require,
)
from sealog.errors import AttestationError, FormatError, PolicyError
from sealog.seal import Evidence, LaunchConfig
from sealog.seal import Header as SessionHeader

PROFILE_DIGEST = hashlib.sha256(b"production profile").digest()


@dataclass(frozen=True)
class Header:
    """A minimal session header that conforms to AttestedHeader (the real one lives in seal)."""

    evidence: Evidence
    binding: bytes
    profile_name: str = "production"
    profile_stage: str = "production"
    profile_digest: bytes = PROFILE_DIGEST

    def expected_report_data(self) -> bytes:
        return self.binding


def _header_from_tsm(tmp_path: Path, binding: bytes, **tree: object) -> Header:
    with TsmTree(tmp_path / "tsm", **tree) as t:  # type: ignore[arg-type]
        evidence = TsmProvider(t.root).collect(binding)
    return Header(evidence, binding)


def _snp_policy(**kw: object) -> AppraisalPolicy:
    return AppraisalPolicy(require_tee="snp", snp_chains=(shared_chain().chain_pem,), **kw)  # type: ignore[arg-type]


BINDING = hashlib.sha512(b"session header").digest()


def test_protocol_is_satisfied_by_a_plain_frozen_dataclass() -> None:
    header: AttestedHeader = Header(NoneProvider().collect(BINDING), BINDING)
    assert header.expected_report_data() == BINDING


def test_key_broker_accepts_production_keep_on_a_genuine_non_debug_snp_guest(
    tmp_path: Path,
) -> None:
    header = _header_from_tsm(tmp_path, BINDING)
    result = require(
        header,
        _snp_policy(min_stage="production", allowed_profile_digests=frozenset({PROFILE_DIGEST})),
    )
    assert result.ok
    assert (result.tee, result.debug) == ("sev-snp", False)
    assert [c.name for c in result.checks] == [
        "tee",
        "signature",
        "binding",
        "debug",
        "stage",
        "profile",
    ]
    assert all(c.passed for c in result.checks)


def test_evidence_replayed_into_another_session_fails_the_binding(tmp_path: Path) -> None:
    header = _header_from_tsm(tmp_path, BINDING)
    other_session = Header(header.evidence, hashlib.sha512(b"another header").digest())
    result = appraise(other_session, _snp_policy())
    assert not result.ok
    assert [c.name for c in result.failed] == ["binding"]
    with pytest.raises(AttestationError, match="binding: report data does not equal"):
        require(other_session, _snp_policy())


def test_header_copy_of_report_data_differing_from_signed_one_is_refused(tmp_path: Path) -> None:
    header = _header_from_tsm(tmp_path, BINDING)
    forged = Evidence("tsm", "sev-snp", bytes(64), header.evidence.blob, header.evidence.aux)
    result = appraise(Header(forged, BINDING), _snp_policy())
    assert [c.reason for c in result.failed] == [
        "signed report data differs from the header's copy"
    ]


def test_debug_guest_is_refused_unless_the_policy_allows_it(tmp_path: Path) -> None:
    header = _header_from_tsm(tmp_path, BINDING, policy=PROD_POLICY | DEBUG_BIT)
    result = appraise(header, _snp_policy())
    assert result.debug is True
    assert [(c.name, c.reason) for c in result.failed] == [
        ("debug", "TEE is in debug mode (guest policy DEBUG bit set)")
    ]
    assert appraise(header, _snp_policy(allow_debug_tee=True)).ok


def test_less_strict_profile_is_refused_as_policy(tmp_path: Path) -> None:
    evidence = _header_from_tsm(tmp_path, BINDING).evidence
    header = Header(evidence, BINDING, profile_name="incident", profile_stage="incident")
    with pytest.raises(
        PolicyError, match="'incident' is incident, less strict than the required staging"
    ):
        require(header, _snp_policy(min_stage="staging"))
    assert appraise(header, _snp_policy(min_stage="testing")).ok


@pytest.mark.parametrize(
    ("stage", "minimum", "ok"),
    [
        ("development", "testing", False),
        ("testing", "incident", False),
        ("incident", "staging", False),
        ("staging", "production", False),
        ("production", "production", True),
        ("staging", "incident", True),
        ("development", "development", True),
    ],
)
def test_stage_ladder(stage: str, minimum: str, ok: bool) -> None:
    header = Header(NoneProvider().collect(BINDING), BINDING, profile_stage=stage)
    policy = AppraisalPolicy(min_stage=minimum, allow_unattested=True)
    assert appraise(header, policy).ok is ok


def test_unlisted_profile_digest_is_refused(tmp_path: Path) -> None:
    header = Header(NoneProvider().collect(BINDING), BINDING, profile_digest=b"\x01" * 32)
    policy = AppraisalPolicy(
        allowed_profile_digests=frozenset({PROFILE_DIGEST}), allow_unattested=True
    )
    result = appraise(header, policy)
    assert [c.name for c in result.failed] == ["profile"]


def test_none_evidence_never_satisfies_a_tee_requirement() -> None:
    header = Header(NoneProvider().collect(BINDING), BINDING)
    for tee in ("snp", "tdx", "any"):
        result = appraise(header, AppraisalPolicy(require_tee=tee))
        assert [c.name for c in result.failed] == ["tee"]
        assert "'none' evidence proves no TEE" in result.failed[0].reason
    with pytest.raises(AttestationError):
        require(header, AppraisalPolicy(require_tee="any"))


def test_none_evidence_is_fine_in_development_but_its_binding_is_still_checked() -> None:
    good = Header(NoneProvider().collect(BINDING), BINDING)
    result = appraise(good, AppraisalPolicy())
    assert result.ok
    assert (result.tee, result.debug) == ("none", None)
    bad = Header(NoneProvider().collect(bytes(64)), BINDING)
    assert [c.name for c in appraise(bad, AppraisalPolicy()).failed] == ["binding"]


def test_header_without_evidence_is_refused_not_a_crash() -> None:
    """A host can write a session whose header carries no evidence at all: appraisal names the
    failed checks and ``require`` refuses it (never an ``AttributeError``)."""
    launch = LaunchConfig("production", "production", PROFILE_DIGEST, "owner")
    header = SessionHeader(bytes(16), "keep", 0.0, launch, "x25519", b"", bytes(32), 64)
    assert header.evidence is None
    assert [c.name for c in appraise(header, AppraisalPolicy()).failed] == ["binding"]
    result = appraise(header, AppraisalPolicy(require_tee="snp"))
    assert [c.name for c in result.failed] == ["tee", "binding"]
    with pytest.raises(AttestationError, match="carries no evidence"):
        require(header, AppraisalPolicy(require_tee="snp"))


def test_evidence_from_an_untrusted_chain_fails_the_signature_check(tmp_path: Path) -> None:
    attacker = make_chain()
    header = _header_from_tsm(tmp_path, BINDING, chain=attacker)
    result = appraise(header, _snp_policy())
    assert [c.name for c in result.failed] == ["signature"]
    assert result.failed[0].reason.startswith("VCEK is not signed by the ASK")


def test_vcek_comes_from_the_policy_when_the_evidence_has_no_certificate_table(
    tmp_path: Path,
) -> None:
    evidence = _header_from_tsm(tmp_path, BINDING).evidence
    bare = Evidence("tsm", "sev-snp", BINDING, evidence.blob)
    assert "no VCEK" in appraise(Header(bare, BINDING), _snp_policy()).failed[0].reason
    assert appraise(Header(bare, BINDING), _snp_policy(snp_vcek=shared_chain().vcek_der)).ok


def test_no_trusted_chain_configured_fails_closed(tmp_path: Path) -> None:
    header = _header_from_tsm(tmp_path, BINDING)
    result = appraise(header, AppraisalPolicy(require_tee="snp"))
    assert result.failed[0].reason == "no trusted AMD chain (ASK, ARK) configured"


def test_tdx_evidence_does_not_satisfy_an_snp_requirement(vectors: Path) -> None:
    quote = (vectors / "tee/tdx/tdx_prod_quote_SPR_E4.dat").read_bytes()
    rd = quote[48 + 584 - 64 : 48 + 584]
    header = Header(Evidence("tsm", "tdx", rd, quote), rd)
    roots = ((vectors / "tee/tdx/intel_sgx_root_ca.pem").read_bytes(),)
    assert appraise(header, AppraisalPolicy(require_tee="tdx", tdx_roots=roots)).ok
    assert appraise(header, AppraisalPolicy(require_tee="any", tdx_roots=roots)).ok
    result = appraise(header, AppraisalPolicy(require_tee="snp", tdx_roots=roots))
    assert [c.name for c in result.failed] == ["tee"]


def test_published_snp_report_is_genuine_but_a_debug_guest(vectors: Path) -> None:
    d = vectors / "tee/snp"
    rd = bytes([1, 2, 3, 4, 5]) + bytes(59)
    header = Header(Evidence("tsm", "sev-snp", rd, (d / "attestation.bin").read_bytes()), rd)
    policy = AppraisalPolicy(
        require_tee="snp",
        snp_chains=tuple((d / n).read_bytes() for n in ("ask_ark_genoa.pem", "ask_ark_milan.pem")),
        snp_vcek=(d / "vcek.der").read_bytes(),
    )
    result = appraise(header, policy)
    assert result.debug is True
    assert [c.name for c in result.failed] == ["debug"]


def test_sgx_quotes_are_not_verified_and_so_fail_closed() -> None:
    header = Header(Evidence("gramine", "sgx", BINDING, b"quote"), BINDING)
    result = appraise(header, AppraisalPolicy())
    assert "not supported" in next(c.reason for c in result.failed if c.name == "signature")


def test_garbage_blob_fails_every_evidence_check_without_raising() -> None:
    header = Header(Evidence("tsm", "sev-snp", BINDING, b"garbage"), BINDING)
    result = appraise(header, _snp_policy())
    assert {c.name for c in result.failed} == {"signature", "binding", "debug"}


@pytest.mark.parametrize("kw", [{"require_tee": "sgx"}, {"min_stage": "prod"}])
def test_policy_with_unknown_values_is_bad_input(kw: dict[str, str]) -> None:
    with pytest.raises(FormatError):
        AppraisalPolicy(**kw)  # type: ignore[arg-type]


def test_fabricated_unattested_session_does_not_satisfy_a_profile_requirement() -> None:
    """Anyone with ``owner.pub`` can write a session naming production with ``none``
    evidence: a profile requirement refuses it unless the relying party says otherwise."""
    header = Header(NoneProvider().collect(BINDING), BINDING, profile_stage="production")
    result = appraise(header, AppraisalPolicy(min_stage="production"))
    assert [c.name for c in result.failed] == ["attested"]
    assert "proves nothing about who wrote it" in result.failed[0].reason
    with pytest.raises(AttestationError):
        require(header, AppraisalPolicy(min_stage="production"))


def test_none_evidence_summary_says_nothing_was_appraised() -> None:
    header = Header(NoneProvider().collect(BINDING), BINDING)
    summary = appraise(header, AppraisalPolicy()).summary()
    assert summary.startswith("nothing appraised")
    assert "appraisal passed" not in summary
