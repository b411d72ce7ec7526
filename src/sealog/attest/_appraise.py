"""Appraisal: what a relying party (a key broker, a secret store) decides from a session header.

The question answered: "is this Keep running profile P (or one at least as strict), with report
data that binds this very header, on a genuine TEE that is not in debug mode?" Every check is
run and reported, so a refusal can say everything that was wrong at once.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from cryptography import x509

from sealog._files import read_bytes
from sealog.attest._chain import load_certificate, load_pem_chain
from sealog.attest._notes import UNATTESTED_NOTE
from sealog.attest._requirements import strict_profile_digests
from sealog.attest._snp import SnpCertTable, SnpReport, verify_snp_report
from sealog.attest._tdx import TdxQuote, verify_tdx_quote
from sealog.errors import AttestationError, Error, FormatError, PolicyError
from sealog.profile import LADDER
from sealog.seal import Evidence

__all__ = [
    "UNATTESTED_NOTE",
    "Appraisal",
    "AppraisalPolicy",
    "AttestedHeader",
    "Check",
    "appraise",
    "load_appraisal_policy",
    "require",
]

_STAGES: tuple[str, ...] = tuple(str(stage) for stage in LADDER)
#: Evidence kinds and the ``require_tee`` value each satisfies.
_TEE_OF_KIND = {"sev-snp": "snp", "tdx": "tdx", "sgx": "sgx"}
#: Checks about the evidence itself; the others are about the profile (policy).
_EVIDENCE_CHECKS = frozenset({"attested", "tee", "signature", "binding", "debug"})


class AttestedHeader(Protocol):
    """What appraisal needs from a session header (the sealing layer's header conforms)."""

    @property
    def evidence(self) -> Evidence | None:
        """The attestation evidence carried by the header (None: it carries none at all)."""
        ...

    def expected_report_data(self) -> bytes:
        """The 64 bytes the evidence's report data must equal to bind this header."""
        ...

    @property
    def profile_name(self) -> str:
        """Name of the profile in force at launch."""
        ...

    @property
    def profile_stage(self) -> str:
        """Stage of that profile (development, testing, incident, staging, production)."""
        ...

    @property
    def profile_digest(self) -> bytes:
        """Canonical digest of that profile."""
        ...


@dataclass(frozen=True)
class AppraisalPolicy:
    """What a relying party requires.

    Attributes:
        require_tee: ``None`` (anything, even ``none`` evidence), ``"snp"``, ``"tdx"`` or
            ``"any"`` (SEV-SNP or TDX, verified).
        min_stage: the profile must be at least this strict on the ladder
            (development < testing < incident < staging < production).
        allowed_profile_digests: the profile digest must be one of these, when given.
        snp_chains: trusted AMD chains, each a PEM bundle of ASK then ARK.
        snp_vcek: a VCEK (DER or PEM) to use when the evidence carries no certificate table.
        tdx_roots: trusted root certificates (PEM) for TDX PCK chains.
        allow_debug_tee: accept a TEE whose debug indicator is set (never for production).
        allow_unattested: let a profile requirement pass on ``none`` evidence. Without it, a
            session that is not attested fails any requirement: anyone holding the owner's
            public key can write such a session, naming any profile.
        now: the time for certificate validity; ``None`` means the current time.
    """

    require_tee: Literal["snp", "tdx", "any"] | None = None
    min_stage: str | None = None
    allowed_profile_digests: frozenset[bytes] | None = None
    snp_chains: tuple[bytes, ...] = ()
    snp_vcek: bytes | None = None
    tdx_roots: tuple[bytes, ...] = ()
    allow_debug_tee: bool = False
    allow_unattested: bool = False
    now: datetime.datetime | None = None

    def __post_init__(self) -> None:
        if self.require_tee not in (None, "snp", "tdx", "any"):
            raise FormatError(
                f"require_tee must be snp, tdx, any or None, not {self.require_tee!r}"
            )
        if self.min_stage is not None and self.min_stage not in _STAGES:
            raise FormatError(f"min_stage {self.min_stage!r} is not a stage ({', '.join(_STAGES)})")


@dataclass(frozen=True)
class Check:
    """One appraisal check: its name, whether it passed, and why."""

    name: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class Appraisal:
    """The outcome of :func:`appraise`.

    Attributes:
        checks: every check, in the order they were made.
        tee: the evidence kind (``sev-snp``, ``tdx``, ``sgx`` or ``none``).
        debug: the platform's debug indicator, ``None`` when unknown (``none`` evidence, or
            evidence that could not be parsed).
    """

    checks: tuple[Check, ...]
    tee: str
    debug: bool | None
    failed: tuple[Check, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "failed", tuple(c for c in self.checks if not c.passed))

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return not self.failed

    def summary(self) -> str:
        """One line: what passed, or every failed check with its reason."""
        if self.ok and self.tee == "none":
            return (
                "nothing appraised: 'none' evidence has no TEE and no signature "
                f"(only the header's own copy of its report data was compared; {UNATTESTED_NOTE})"
            )
        if self.ok:
            return f"appraisal passed ({self.tee}): " + ", ".join(c.name for c in self.checks)
        return "appraisal failed: " + "; ".join(f"{c.name}: {c.reason}" for c in self.failed)


@dataclass
class _Verdict:
    ok: bool
    reason: str
    signed_report_data: bytes | None = None
    debug: bool | None = None


#: The signature verdict on a header that carries no evidence: nothing to verify, nothing signed.
_NO_EVIDENCE = _Verdict(True, "not applicable: the header carries no evidence")


def _first_error(errors: list[Error], default: str) -> str:
    return str(errors[0]) if errors else default


def _verify_snp(evidence: Evidence, policy: AppraisalPolicy, now: datetime.datetime) -> _Verdict:
    try:
        report = SnpReport.from_bytes(evidence.blob)
    except FormatError as exc:
        return _Verdict(False, str(exc))
    verdict = _Verdict(False, "", report.report_data, report.debug)
    vcek_der: bytes | None = None
    try:
        if evidence.aux:
            vcek_der = SnpCertTable.from_bytes(evidence.aux).vcek
        vcek_der = vcek_der or policy.snp_vcek
        if vcek_der is None:
            verdict.reason = "no VCEK: the evidence has no certificate table and none was given"
            return verdict
        vcek = load_certificate(vcek_der, "VCEK certificate")
        chains = [load_pem_chain(pem, "AMD ASK/ARK chain") for pem in policy.snp_chains]
    except FormatError as exc:
        verdict.reason = str(exc)
        return verdict
    if not chains:
        verdict.reason = "no trusted AMD chain (ASK, ARK) configured"
        return verdict
    errors: list[Error] = []
    # Try the chain that names the VCEK's issuer first, so its error is the one reported.
    chains.sort(key=lambda c: c[0].subject != vcek.issuer)
    for chain in chains:
        if len(chain) != 2:
            errors.append(FormatError("AMD chain must hold exactly the ASK then the ARK"))
            continue
        try:
            verified = verify_snp_report(report, vcek=vcek, ask=chain[0], ark=chain[1], now=now)
        except Error as exc:
            errors.append(exc)
            continue
        verdict.ok = True
        verdict.reason = f"SNP report signed by a {verified.product} VCEK chained to the ARK"
        return verdict
    verdict.reason = _first_error(errors, "no chain verified")
    return verdict


def _verify_tdx(evidence: Evidence, policy: AppraisalPolicy, now: datetime.datetime) -> _Verdict:
    try:
        quote = TdxQuote.from_bytes(evidence.blob)
    except FormatError as exc:
        return _Verdict(False, str(exc))
    verdict = _Verdict(False, "", quote.body.report_data, quote.debug)
    try:
        roots: list[x509.Certificate] = []
        for pem in policy.tdx_roots:
            roots.extend(load_pem_chain(pem, "TDX root"))
    except FormatError as exc:
        verdict.reason = str(exc)
        return verdict
    if not roots:
        verdict.reason = "no trusted TDX root configured"
        return verdict
    try:
        verify_tdx_quote(quote, trusted_roots=roots, now=now)
    except Error as exc:
        verdict.reason = str(exc)
        return verdict
    verdict.ok = True
    verdict.reason = "TDX quote signed by a QE whose PCK chains to a trusted Intel root"
    return verdict


def load_appraisal_policy(
    require_profile: str | None = None,
    require_tee: str | None = None,
    trust_roots: tuple[Path, ...] = (),
    allow_debug_tee: bool = False,
    allow_unattested: bool = False,
) -> AppraisalPolicy | None:
    """The policy that ``verify --require-profile/--require-tee/--trust-root`` stand for.

    Trust-root files are sorted by shape: an AMD chain is the ASK then the ARK (two or more
    certificates); a TDX trust root is one self-signed CA. A required profile is compared by
    digest (:func:`~sealog.attest._requirements.strict_profile_digests`): a launcher's own
    profile that merely carries the name or the stage does not satisfy it.

    Returns:
        The policy, or None when nothing is required.

    Raises:
        FormatError: an unreadable trust-root file, or not PEM certificates; an unknown profile.
    """
    if require_profile is None and require_tee is None and not trust_roots:
        return None
    snp_chains: list[bytes] = []
    tdx_roots: list[bytes] = []
    for path in trust_roots:
        pem = read_bytes(path, "a PEM certificate file")
        try:
            certs = x509.load_pem_x509_certificates(pem)
        except ValueError as exc:
            raise FormatError(f"{path}: not a PEM certificate file") from exc
        (snp_chains if len(certs) >= 2 else tdx_roots).append(pem)
    stage, digests = strict_profile_digests(require_profile) if require_profile else (None, None)
    return AppraisalPolicy(
        require_tee=require_tee,  # type: ignore[arg-type]
        min_stage=stage,
        allowed_profile_digests=digests,
        allow_unattested=allow_unattested,
        snp_chains=tuple(snp_chains),
        tdx_roots=tuple(tdx_roots),
        allow_debug_tee=allow_debug_tee,
    )


def appraise(header: AttestedHeader, policy: AppraisalPolicy) -> Appraisal:
    """Appraise a session header's attestation against a relying party's policy.

    Checks, all of them always made and reported:

    0. ``attested``: with a profile requirement (``min_stage``, ``allowed_profile_digests``),
       the evidence is not ``none``, unless ``allow_unattested``;
    1. ``tee``: the evidence kind is the TEE the policy requires (``none`` evidence fails
       whenever a TEE is required);
    2. ``signature``: the report or quote verifies up to a trusted root;
    3. ``binding``: the signed report data equals ``header.expected_report_data()``
       (for ``none`` evidence: the carried report data does);
    4. ``debug``: the platform is not in debug mode (SNP policy DEBUG bit, TDX TD attributes
       DEBUG bit), unless the policy allows it;
    5. ``stage``: the profile is at least as strict as ``min_stage``;
    6. ``profile``: the profile digest is allowed, when a set is given.

    Args:
        header: the session header (anything conforming to :class:`AttestedHeader`).
        policy: what the relying party requires.

    Returns:
        An :class:`Appraisal`; ``ok`` is true only if every check passed.
    """
    evidence = header.evidence
    # A header without evidence (a host can write one) proves no more than 'none' evidence.
    kind = "none" if evidence is None else evidence.kind
    now = policy.now or datetime.datetime.now(datetime.UTC)
    verdict = _NO_EVIDENCE if evidence is None else _signature_verdict(evidence, policy, now)
    checks = [
        *_check_attested(kind, policy),
        _check_tee(kind, policy),
        Check("signature", verdict.ok, verdict.reason),
        _check_binding(header, verdict),
        _check_debug(kind, verdict.debug, policy),
    ]
    if policy.min_stage is not None:
        checks.append(_check_stage(header, policy.min_stage))
    if policy.allowed_profile_digests is not None:
        checks.append(_check_profile(header, policy.allowed_profile_digests))
    return Appraisal(tuple(checks), kind, verdict.debug)


def _check_attested(kind: str, policy: AppraisalPolicy) -> list[Check]:
    """0. A profile requirement on an unattested session is a requirement on nothing (a TEE
    requirement fails on its own, in check 1)."""
    requires = policy.min_stage is not None or policy.allowed_profile_digests is not None
    if kind != "none" or not requires or policy.allow_unattested:
        return []
    reason = f"'none' evidence: the session is {UNATTESTED_NOTE} (--allow-unattested to accept it)"
    return [Check("attested", False, reason)]


def _check_tee(kind: str, policy: AppraisalPolicy) -> Check:
    """1. The evidence kind is the TEE the policy requires."""
    tee = _TEE_OF_KIND.get(kind)
    if policy.require_tee is None:
        return Check("tee", True, f"no TEE required (evidence kind {kind!r})")
    if kind == "none":
        return Check(
            "tee", False, f"'none' evidence proves no TEE; policy requires {policy.require_tee}"
        )
    if tee in ("snp", "tdx") and policy.require_tee in (tee, "any"):
        return Check("tee", True, f"evidence is {kind}")
    return Check("tee", False, f"evidence is {kind}; policy requires {policy.require_tee}")


def _signature_verdict(
    evidence: Evidence, policy: AppraisalPolicy, now: datetime.datetime
) -> _Verdict:
    """2. The report or quote verifies up to a trusted root."""
    kind = evidence.kind
    if kind == "none":
        return _Verdict(
            True, "not applicable: 'none' evidence carries no signature", evidence.report_data, None
        )
    if kind == "sev-snp":
        return _verify_snp(evidence, policy, now)
    if kind == "tdx":
        return _verify_tdx(evidence, policy, now)
    return _Verdict(False, f"verifying {kind!r} evidence is not supported")


def _check_binding(header: AttestedHeader, verdict: _Verdict) -> Check:
    """3. The signed report data is what the header commits to."""
    if header.evidence is None:
        return Check("binding", False, "the header carries no evidence to bind it")
    try:
        expected = header.expected_report_data()
    except Error as exc:
        return Check("binding", False, f"cannot compute the expected report data: {exc}")
    signed = verdict.signed_report_data
    if signed is None:
        return Check("binding", False, "report data unreadable (evidence malformed)")
    if signed != expected:
        return Check("binding", False, "report data does not equal the header's expected value")
    if signed != header.evidence.report_data:
        return Check("binding", False, "signed report data differs from the header's copy")
    return Check("binding", True, "report data binds the session header")


def _check_debug(kind: str, debug: bool | None, policy: AppraisalPolicy) -> Check:
    """4. The platform is not in debug mode, unless the policy allows it."""
    if kind == "none":
        return Check("debug", True, "not applicable: no TEE")
    if debug is None:
        return Check("debug", False, "debug state unknown (evidence malformed)")
    if debug and not policy.allow_debug_tee:
        bit = "guest policy DEBUG bit" if kind == "sev-snp" else "TD attributes DEBUG bit"
        return Check("debug", False, f"TEE is in debug mode ({bit} set)")
    return Check("debug", True, "debug mode allowed" if debug else "not in debug mode")


def _check_stage(header: AttestedHeader, min_stage: str) -> Check:
    """5. The profile is at least as strict as ``min_stage`` on the ladder."""
    stage = header.profile_stage
    if stage not in _STAGES:
        return Check("stage", False, f"unknown profile stage {stage!r}")
    if _STAGES.index(stage) < _STAGES.index(min_stage):
        return Check(
            "stage",
            False,
            f"profile {header.profile_name!r} is {stage}, "
            f"less strict than the required {min_stage}",
        )
    return Check("stage", True, f"profile stage {stage} >= {min_stage}")


def _check_profile(header: AttestedHeader, allowed: frozenset[bytes]) -> Check:
    """6. The profile digest is one of the allowed ones."""
    if header.profile_digest in allowed:
        return Check("profile", True, f"profile {header.profile_name!r} is allowed")
    return Check(
        "profile",
        False,
        f"profile {header.profile_name!r} digest "
        f"{header.profile_digest.hex()[:16]}... is not allowed",
    )


def require(header: AttestedHeader, policy: AppraisalPolicy) -> Appraisal:
    """Like :func:`appraise`, but raise unless every check passed.

    Raises:
        AttestationError: a check about the evidence failed (TEE kind, signature, binding,
            debug); the message lists every failed check.
        PolicyError: only profile checks failed (stage, allowed digests).
    """
    result = appraise(header, policy)
    if result.ok:
        return result
    if any(c.name in _EVIDENCE_CHECKS for c in result.failed):
        raise AttestationError(result.summary())
    raise PolicyError(result.summary())
