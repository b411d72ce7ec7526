"""The five built-in profiles: the ladder of DESIGN.md section 3, read by the strict loader."""

from __future__ import annotations

import logging
import subprocess
import sys
import tomllib

import pytest

from sealog.errors import FormatError
from sealog.profile import (
    LADDER,
    HostClear,
    Stage,
    TracebackMode,
    builtin_names,
    builtin_profile,
    builtin_text,
    parse_profile,
    profile_digest,
    resolve_profile,
)

DBG, INF, WRN, ERR, CRT = (
    logging.DEBUG,
    logging.INFO,
    logging.WARNING,
    logging.ERROR,
    logging.CRITICAL,
)
FULL, REDACTED = TracebackMode.FULL, TracebackMode.REDACTED

# name: host, host_rules level, owner level, owner traceback, trace, padding, cover,
#       flush_interval, ring records (0 = none), production_secrets, reveal_secrets
EXPECTED = {
    "development": ("records", DBG, DBG, FULL, True, False, False, 0.2, 0, False, True),
    "testing": ("events+codes", ERR, DBG, FULL, True, False, False, 0.5, 0, False, False),
    "staging": ("events+codes", ERR, INF, REDACTED, False, True, True, 1.0, 2000, False, False),
    "production": ("events", CRT, WRN, REDACTED, False, True, True, 1.0, 5000, True, False),
    "incident": ("events", CRT, DBG, FULL, True, True, True, 1.0, 5000, False, False),
}


def test_builtin_names_are_the_five_stages() -> None:
    assert builtin_names() == ("development", "testing", "staging", "production", "incident")
    assert set(builtin_names()) == {stage.value for stage in Stage}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_builtin_profile_matches_the_design_table(name: str) -> None:
    host, host_level, owner_level, owner_tb, trace, pad, cover, flush, ring, prod, reveal = (
        EXPECTED[name]
    )
    profile = builtin_profile(name)
    assert profile.name == name
    assert profile.stage is Stage(name)
    assert profile.host is HostClear(host)
    assert profile.host_rules.min_level == host_level
    assert profile.owner.min_level == owner_level
    assert profile.owner.traceback is owner_tb
    assert profile.trace is trace
    assert profile.stream.padding is pad
    assert profile.stream.cover_traffic is cover
    assert profile.stream.flush_interval == flush
    assert profile.production_secrets is prod
    assert profile.reveal_secrets is reveal
    assert profile.ring_records == ring
    if ring:
        assert profile.ring is not None
        assert profile.ring.min_level == DBG
        assert profile.stream.bucket == 4096
    else:
        assert profile.ring is None


@pytest.mark.parametrize("name", [n for n in EXPECTED if n != "development"])
def test_builtins_outside_development_redact_common_secrets(name: str) -> None:
    profile = builtin_profile(name)
    destinations = [profile.owner, profile.host_rules]
    if profile.ring is not None:
        destinations.append(profile.ring)
    samples = [
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        "key AKIAIOSFODNN7EXAMPLE in config",
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----",
    ]
    for dest in destinations:
        assert {"password", "token", "secret", "api_key"} <= set(dest.redact_fields)
        for sample in samples:
            assert any(p.search(sample) for p in dest.redact_patterns), sample
        assert not any(p.search("the bearer of good news") for p in dest.redact_patterns)
    assert profile.host_rules.traceback is TracebackMode.NONE


def test_only_production_is_eligible_for_production_secrets() -> None:
    eligible = [n for n in builtin_names() if builtin_profile(n).production_secrets]
    assert eligible == ["production"]


def test_builtins_keep_their_place_on_the_ladder() -> None:
    ranked = sorted(builtin_names(), key=lambda n: builtin_profile(n).rank)
    assert ranked == [stage.value for stage in LADDER]


def test_builtin_digests_are_distinct() -> None:
    digests = {profile_digest(builtin_profile(n)) for n in builtin_names()}
    assert len(digests) == len(builtin_names())


@pytest.mark.parametrize("name", list(EXPECTED))
def test_builtin_text_writes_every_key_out(name: str) -> None:
    """A user editing a built-in sees every setting, not just the ones that differ."""
    doc = tomllib.loads(builtin_text(name))
    assert {"format", "name", "stage", "description", "host", "trace"} <= set(doc)
    assert {"owner", "host_rules", "stream"} <= set(doc)
    assert len(doc["stream"]) == 11
    assert len(doc["owner"]) == 6
    assert len(doc["lines"]) == 5
    assert "#" in builtin_text(name)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_builtin_text_reparses_to_the_same_profile(name: str) -> None:
    assert parse_profile(builtin_text(name), source="copy.toml") == builtin_profile(name)


def test_resolve_finds_builtins_by_name() -> None:
    assert resolve_profile("production") is builtin_profile("production")


def test_unknown_builtin_is_refused() -> None:
    with pytest.raises(FormatError, match="unknown built-in profile 'prod'"):
        builtin_text("prod")
    with pytest.raises(FormatError, match="expected one of development, testing"):
        builtin_profile("../production")


def test_profile_package_imports_without_cryptography() -> None:
    """Workload processes import the profile package and may not have cryptography."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'cryptography' or name.startswith('cryptography.'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from sealog.profile import resolve_profile, profile_digest\n"
        "print(profile_digest(resolve_profile('production')).hex())\n"
        "assert not any(m.startswith('cryptography') for m in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == profile_digest(builtin_profile("production")).hex()
