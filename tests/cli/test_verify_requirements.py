"""`verify --require-profile` compares digests, refuses unattested sessions (weak points 6, 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from inprocess import cli

from sealog.host._store import Store
from sealog.profile import builtin_profile, builtin_text, parse_profile, profile_digest
from sealog.seal._header import LaunchConfig
from sealog.seal._keys import generate_owner_key, write_key_pair
from sealog.seal._writer import start_session
from streams import none_evidence

#: A launcher's own profile *named* production, with no padding and no cover traffic.
LOOKALIKE = (
    builtin_text("production")
    .replace("padding = true", "padding = false", 1)
    .replace("cover_traffic = true", "cover_traffic = false", 1)
)


def _session(root: Path, digest: bytes) -> Path:
    """A closed session launched (per its header) under a production-stage profile."""
    owner = generate_owner_key()
    write_key_pair(owner, root / "owner")
    launch = LaunchConfig("production", "production", digest, owner.public_key.key_id)
    header, sealer = start_session(owner.public_key, launch, none_evidence)
    sink = Store.create(root / "store").new_session(header)
    sink.write_frame(sealer.seal(b"", close=True))
    sink.close()
    return root / "store"


def test_lookalike_profile_named_production_does_not_satisfy_require_profile(
    tmp_path: Path,
) -> None:
    lookalike = parse_profile(LOOKALIKE, source="lookalike")
    assert lookalike.name == "production"
    assert profile_digest(lookalike) != profile_digest(builtin_profile("production"))
    store = _session(tmp_path, profile_digest(lookalike))
    done = cli(
        "verify", store, "--key", tmp_path / "owner.key",
        "--require-profile", "production", "--allow-unattested",
    )  # fmt: skip
    assert done.code == 1, done.stdout
    assert "ATTESTATION-FAILED" in done.stdout
    assert "is not allowed" in done.stdout


@pytest.mark.parametrize("required", ["production", "staging"])
def test_built_in_profile_at_least_as_strict_satisfies_require_profile(
    tmp_path: Path, required: str
) -> None:
    store = _session(tmp_path, profile_digest(builtin_profile("production")))
    done = cli(
        "verify", store, "--key", tmp_path / "owner.key",
        "--require-profile", required, "--allow-unattested",
    )  # fmt: skip
    assert done.code == 0, done.stdout


def test_fabricated_unattested_session_fails_require_profile(tmp_path: Path) -> None:
    """The host deletes a real session and writes one of its own with ``owner.pub`` and
    ``--attest none``: it names the real production profile, and still proves nothing."""
    store = _session(tmp_path, profile_digest(builtin_profile("production")))
    done = cli("verify", store, "--key", tmp_path / "owner.key", "--require-profile", "production")
    assert done.code == 1, done.stdout
    assert "proves nothing about who wrote it" in done.stdout
    plain = cli("verify", store, "--key", tmp_path / "owner.key")
    assert plain.code == 0
    assert "unattested: proves nothing about who wrote it" in plain.stdout
