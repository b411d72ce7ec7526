"""A real session bound to (emulated) SEV-SNP hardware evidence, end to end: the Keep's header
is attested through configfs-tsm, the owner's ``verify --require-tee`` accepts it, and every
way of breaking the binding is refused (promise 3)."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from attest_snp_builder import PROD_POLICY, shared_chain
from attest_tsm_tree import TsmTree

import sealog
from sealog._strict import canonical_json
from sealog.attest import AppraisalPolicy, TsmProvider, appraise, require
from sealog.errors import PolicyError
from sealog.owner import verify_store
from sealog.seal import read_session_header
from sealog.seal._container import MAGIC, Entry, encode_entry, iter_entries
from sealog.seal._header import Header
from sealog.seal._keys import OwnerPrivateKey, generate_owner_key, write_key_pair


def _attested_store(tmp_path: Path, profile: str = "production", **tree: object) -> Path:
    key = generate_owner_key()
    tmp_path.mkdir(parents=True, exist_ok=True)
    write_key_pair(key, tmp_path / "owner")
    store = tmp_path / "store"
    with TsmTree(tmp_path / "tsm", **tree) as t:  # type: ignore[arg-type]
        session = sealog.open_session(
            tmp_path / "owner.pub",
            store,
            profile,
            attest=TsmProvider(t.root).collect,
            logger=False,
            host_stream=io.StringIO(),
        )
    log = logging.getLogger("binding.test")
    log.propagate = False
    log.addHandler(session.handler)
    log.warning("attested hello")
    session.close()
    (tmp_path / "chain.pem").write_bytes(shared_chain().chain_pem)
    return store


def _verify(tmp_path: Path, store: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sealog",
            "verify",
            str(store),
            "--key",
            str(tmp_path / "owner.key"),
            "--require-tee",
            "snp",
            "--trust-root",
            str(tmp_path / "chain.pem"),
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_attested_session_passes_a_relying_partys_checks(tmp_path: Path) -> None:
    store = _attested_store(tmp_path)
    done = _verify(tmp_path, store, "--require-profile", "production")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "appraisal passed (sev-snp)" in done.stdout
    assert "binding" in done.stdout


def test_debug_profile_session_is_refused_where_production_is_required(tmp_path: Path) -> None:
    store = _attested_store(tmp_path, profile="development")
    done = _verify(tmp_path, store, "--require-profile", "production")
    assert done.returncode == 1
    assert "stage" in done.stdout


def test_tee_in_debug_mode_is_refused(tmp_path: Path) -> None:
    store = _attested_store(tmp_path, policy=PROD_POLICY | 1 << 19)  # SNP policy DEBUG bit
    done = _verify(tmp_path, store)
    assert done.returncode == 1
    assert "debug" in done.stdout


def test_evidence_moved_to_another_session_does_not_bind(tmp_path: Path) -> None:
    """The host copies the hardware evidence of one session into the header of another: the
    report data no longer matches, and the frames no longer authenticate either."""
    a = _attested_store(tmp_path / "a")
    b = _attested_store(tmp_path / "b")
    (path_a,) = a.glob("*.seal")
    (path_b,) = b.glob("*.seal")
    entries_a = [e.payload for e in iter_entries(path_a.read_bytes()) if isinstance(e, Entry)]
    entries_b = [e.payload for e in iter_entries(path_b.read_bytes()) if isinstance(e, Entry)]
    header_a = json.loads(entries_a[0])
    header_b = json.loads(entries_b[0])
    header_a["evidence"] = header_b["evidence"]
    forged = Header.from_bytes(canonical_json(header_a))
    key = OwnerPrivateKey.load(tmp_path / "a" / "owner.key")
    policy = AppraisalPolicy(require_tee="snp", snp_chains=(shared_chain().chain_pem,))
    appraisal = appraise(forged, policy)
    assert not appraisal.ok
    assert [c.name for c in appraisal.failed] == ["binding"]
    # And in the store, the swapped header breaks the chain: verify says modified.
    path_a.write_bytes(
        MAGIC + b"".join(encode_entry(p) for p in [forged.to_bytes(), *entries_a[1:]])
    )
    (verdict,) = verify_store(a, key)
    assert verdict.status == "modified"


def test_wrong_trust_root_is_refused(tmp_path: Path, vectors: Path) -> None:
    store = _attested_store(tmp_path)
    shutil.copy(vectors / "tee" / "snp" / "ask_ark_milan.pem", tmp_path / "chain.pem")
    done = _verify(tmp_path, store)
    assert done.returncode == 1
    assert "signature" in done.stdout


@pytest.mark.parametrize("require", ["snp", "any"])
def test_none_evidence_never_satisfies_a_tee_requirement(
    tmp_path: Path, owner_key: OwnerPrivateKey, require: str
) -> None:
    write_key_pair(owner_key, tmp_path / "owner")
    with sealog.open_session(
        tmp_path / "owner.pub", tmp_path / "store", "production", logger=False
    ) as session:
        session.flush()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sealog",
            "verify",
            str(tmp_path / "store"),
            "--key",
            str(tmp_path / "owner.key"),
            "--require-tee",
            require,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "'none' evidence proves no TEE" in done.stdout


def test_key_broker_reads_the_header_without_the_owner_key(tmp_path: Path) -> None:
    """A relying party holds only the session file and its trust roots."""
    store = _attested_store(tmp_path)
    (path,) = store.glob("*.seal")
    policy = AppraisalPolicy(
        require_tee="snp", min_stage="production", snp_chains=(shared_chain().chain_pem,)
    )
    assert require(read_session_header(path), policy).tee == "sev-snp"
    dev = _attested_store(tmp_path / "dev", profile="development")
    (dev_path,) = dev.glob("*.seal")
    with pytest.raises(PolicyError, match="stage"):
        require(read_session_header(dev_path), policy)
