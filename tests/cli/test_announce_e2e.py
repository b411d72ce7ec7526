"""Session transparency end to end with a real ``sealog run``: a Keep under a policy with
announcements starts its workload only once its session is proven in the audit log, refuses a
bundle that proves anything else, gives up at the policy's limit, and the owner's
``verify --audit-log`` names sessions the host deleted (MISSING) or fabricated (UNANNOUNCED).

No sleeps: each test reads the Keep's host channel until it asks for its announcement. Only
``sealog run`` runs in a subprocess; the operator's and the owner's commands run in-process."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import textwrap
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from clihelp import SEALOG, sealog, sealog_subprocess

from sealog.audit import (
    TREE_HEAD_SKEW,
    AnnouncementBundle,
    AuditLog,
    OrderInclusion,
    SessionAnnouncement,
    SignedTreeHead,
    SigningKey,
    announce_session,
    announcement_file,
)
from sealog.seal import Header, read_session_header


class Operator:
    """The host's operator: an audit log, a control policy asking for announcements, a store."""

    def __init__(self, root: Path, owner: tuple[Path, Path], wait: str = "30s") -> None:
        self.root = root
        self.key, self.pub = owner
        self.log_key = SigningKey.generate()
        self.log = AuditLog.init(root / "log", self.log_key)
        self.policy = root / "policy.toml"
        self.policy.write_text(
            textwrap.dedent(
                f"""
                format = 1
                audit_log_key = "{self.log_key.public_key.to_text()}"
                announce_sessions = true
                announce_wait = "{wait}"
                approvers = []
                [targets]
                """
            )
        )
        self.control = root / "control"
        self.control.mkdir()
        self.store = root / "store"
        self.runs = 0

    def start(self, keep: str = "k1") -> tuple[subprocess.Popen[str], Header, Path, list[Any]]:
        """Start a Keep and read its host channel until it asks for its announcement."""
        self.runs += 1
        marker = self.root / f"ran-{self.runs}"
        proc = subprocess.Popen(
            [
                *SEALOG,
                "run",
                "--owner",
                str(self.pub),
                "--store",
                str(self.store),
                "--keep-id",
                keep,
                "--control-policy",
                str(self.policy),
                "--control",
                str(self.control),
                "--",
                "touch",
                str(marker),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        events = []
        for line in proc.stderr:
            events.append(json.loads(line))
            if events[-1]["event"] == "keep.announce_wanted":
                break
        else:
            pytest.fail(f"the Keep never asked for its announcement: {events}")
        sid = events[-1]["session"]
        header = read_session_header(self.store / f"{sid}.seal")
        assert events[-1]["digest"] == header.digest.hex()
        return proc, header, marker, events

    def finish(self, proc: subprocess.Popen[str], events: list[Any]) -> list[str]:
        """Wait for the run to end; every host event it emitted, by name."""
        _, rest = proc.communicate(timeout=60)
        events += [json.loads(line) for line in rest.splitlines() if line.strip()]
        return [e["event"] for e in events]

    def deliver(self, header: Header, bundle: AnnouncementBundle) -> None:
        bundle.save(announcement_file(self.control, header.session_hex))

    def announced_run(self, keep: str = "k1") -> str:
        proc, header, _, events = self.start(keep)
        self.deliver(header, announce_session(self.log, header))
        names = self.finish(proc, events)
        assert proc.returncode == 0, names
        return header.session_hex

    def verify(self, *extra: str | Path) -> subprocess.CompletedProcess[str]:
        return sealog(
            "verify", self.store, "--key", self.key, "--audit-log", self.log.directory, *extra
        )


def _sealed(op: Operator, event: str) -> list[dict[str, Any]]:
    done = sealog("read", op.store, "--key", op.key, "--json")
    records = [json.loads(line) for line in done.stdout.splitlines()]
    return [r for r in records if r["fields"].get("event") == event]


def test_keep_starts_its_workload_only_after_the_announcement_arrives(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    op = Operator(tmp_path, owner)
    proc, header, marker, events = op.start()
    # The Keep is waiting: no workload yet, and the host has not been told of one.
    assert not marker.exists()
    assert "keep.ready" not in [e["event"] for e in events]
    done = sealog(
        "audit", "announce", op.log.directory, op.store,
        "--session", header.session_hex[:12], "--control", op.control,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "leaf index 0" in done.stdout
    names = op.finish(proc, events)
    assert proc.returncode == 0
    assert marker.exists()
    assert names.index("keep.announce_wanted") < names.index("keep.announced")
    assert names.index("keep.announced") < names.index("keep.ready")
    (sealed,) = _sealed(op, "session.announced")
    assert sealed["fields"]["bundle"]["announcement"]["session"] == header.session_hex
    verify = op.verify("--log-since", op.log.directory / "sth.json")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"ANNOUNCED    {header.session_hex}" in verify.stdout


def test_host_deleting_one_of_three_sessions_is_reported_missing(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    op = Operator(tmp_path, owner)
    sessions = [op.announced_run() for _ in range(3)]
    assert op.verify().returncode == 0
    deleted = sessions[1]
    for path in op.store.glob(f"{deleted}.*"):
        path.unlink()
    verify = op.verify()
    assert verify.returncode == 1
    assert "keep k1: 3 announced, 3 sessions" in verify.stdout
    assert f"MISSING      {deleted}" in verify.stdout
    for kept in (sessions[0], sessions[2]):
        assert f"ANNOUNCED    {kept}" in verify.stdout
    assert "UNANNOUNCED" not in verify.stdout
    # Deleting every session does not turn the check into "no sessions, nothing to say".
    for path in op.store.glob("*.*"):
        path.unlink()
    verify = op.verify()
    assert verify.returncode == 1
    assert verify.stdout.count("MISSING ") == 3


def test_session_fabricated_with_the_owner_public_key_is_reported_unannounced(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    op = Operator(tmp_path, owner)
    real = op.announced_run()
    # The host starts its own sealog with only the owner's public key and no policy.
    fake = sealog_subprocess(
        "run", "--owner", op.pub, "--store", op.store, "--keep-id", "k1", "--", "true"
    )
    assert fake.returncode == 0
    forged = next(p.stem for p in op.store.glob("*.seal") if not p.name.startswith(real))
    assert sealog("verify", op.store, "--key", op.key).returncode == 0  # each verifies alone
    verify = op.verify("--json")
    assert verify.returncode == 1
    report = json.loads(verify.stdout.splitlines()[-1])["transparency"]
    status = {s["session"]: s["status"] for s in report["sessions"]}
    assert status == {real: "announced", forged: "unannounced"}


def _for_another_keep(op: Operator, header: Header) -> AnnouncementBundle:
    theirs = replace(SessionAnnouncement.for_header(header), keep="k2")
    index, proof, sth = op.log.append(theirs.entry_bytes())
    return AnnouncementBundle(theirs, OrderInclusion(index, tuple(proof), sth))


def _forged_tree_head(op: Operator, header: Header) -> AnnouncementBundle:
    rogue = AuditLog.init(op.root / "rogue-log", SigningKey.generate())
    return announce_session(rogue, header)


def _stale_tree_head(op: Operator, header: Header) -> AnnouncementBundle:
    good = announce_session(op.log, header)
    sth = good.inclusion.tree_head
    old = sth.timestamp - int((TREE_HEAD_SKEW + timedelta(minutes=5)).total_seconds() * 1000)
    stale = SignedTreeHead.sign(op.log_key, sth.size, sth.root_hash, old)
    return replace(good, inclusion=replace(good.inclusion, tree_head=stale))


@pytest.mark.parametrize(
    ("attack", "reason"),
    [
        (_for_another_keep, "announcement is for Keep 'k2', this is Keep 'k1'"),
        (_forged_tree_head, "not signed by the policy's audit log key"),
        (_stale_tree_head, "stale"),
    ],
    ids=["another-keep-id", "forged-tree-head", "stale-tree-head"],
)
def test_keep_refuses_a_bad_announcement_and_never_starts(
    tmp_path: Path,
    owner: tuple[Path, Path],
    attack: Callable[[Operator, Header], AnnouncementBundle],
    reason: str,
) -> None:
    op = Operator(tmp_path, owner)
    proc, header, marker, events = op.start()
    op.deliver(header, attack(op, header))
    names = op.finish(proc, events)
    assert proc.returncode == 77
    assert not marker.exists()
    assert "keep.ready" not in names
    assert "keep.announced" not in names
    assert events[-1]["code"] == "announce.refused"
    (refused,) = _sealed(op, "announce.refused")
    assert reason in refused["fields"]["reason"]
    # The session itself is intact and closed: the owner reads why the Keep stopped.
    assert sealog("verify", op.store, "--key", op.key).returncode == 0


def test_keep_gives_up_at_the_policy_time_limit(tmp_path: Path, owner: tuple[Path, Path]) -> None:
    op = Operator(tmp_path, owner, wait="1s")
    proc, header, marker, events = op.start()
    names = op.finish(proc, events)
    assert proc.returncode == 75
    assert not marker.exists()
    assert "keep.ready" not in names
    assert events[-1]["code"] == "announce.timeout"
    # Never announced, but no workload ran: the owner's check says so and does not fail.
    verify = op.verify()
    assert verify.returncode == 0, verify.stdout
    assert f"NOT-STARTED  {header.session_hex}" in verify.stdout


def test_host_rolling_the_audit_log_back_past_a_seen_tree_head_is_caught(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    """The host deletes a session and rewinds the log to before its announcement."""
    op = Operator(tmp_path, owner)
    first = op.announced_run()
    before = tmp_path / "log-before"
    shutil.copytree(op.log.directory, before)
    second = op.announced_run()
    seen = tmp_path / "seen-sth.json"
    shutil.copy(op.log.directory / "sth.json", seen)
    for path in op.store.glob(f"{second}.*"):
        path.unlink()
    shutil.rmtree(op.log.directory)
    shutil.copytree(before, op.log.directory)
    assert op.verify().returncode == 0  # without the head seen before, the rewind looks fine
    verify = op.verify("--log-since", seen)
    assert verify.returncode == 1
    assert "rolled back" in verify.stderr
    assert first  # the remaining session is the announced one


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--audit-log", "no-such-log"], "no such audit log folder"),
        (["--log-since", "sth.json"], "--log-since and --log-key go with --audit-log"),
        (["--audit-log", "log", "--session", "ab"], "drop --session, --since and --until"),
    ],
)
def test_bad_transparency_arguments_are_one_line_and_exit_2(
    tmp_path: Path, owner: tuple[Path, Path], args: list[str], message: str
) -> None:
    op = Operator(tmp_path, owner)
    op.store.mkdir()
    (op.store / "sealog-store").write_text("sealog store v1\n")
    done = sealog(
        "verify",
        op.store,
        "--key",
        op.key,
        *[str(op.log.directory) if a == "log" else a for a in args],
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_announcing_a_session_the_store_does_not_hold_is_refused(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    op = Operator(tmp_path, owner)
    op.store.mkdir()
    (op.store / "sealog-store").write_text("sealog store v1\n")
    done = sealog("audit", "announce", op.log.directory, op.store, "--session", "ab")
    assert done.returncode == 2
    assert "no session matching 'ab'" in done.stderr
    assert op.log.size == 0


def test_log_rewritten_by_its_operator_leaves_the_sealed_proof_unproven(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    """The log's operator rebuilds the log with the same key and the entry at another place:
    the log verifies on its own, but the tree head the Keep sealed is not a prefix of it."""
    op = Operator(tmp_path, owner)
    sid = op.announced_run()
    entry = op.log.entry(0)
    shutil.rmtree(op.log.directory)
    op.log = AuditLog.init(op.log.directory, op.log_key)
    op.log.append(b"an entry slipped in before")
    op.log.append(entry)
    verify = op.verify()
    assert verify.returncode == 1
    assert f"UNPROVEN     {sid}" in verify.stdout
    assert "not consistent" in verify.stdout or "consistency" in verify.stdout


def test_operator_stopping_a_waiting_keep_closes_its_session_cleanly(
    tmp_path: Path, owner: tuple[Path, Path]
) -> None:
    op = Operator(tmp_path, owner)
    proc, header, marker, events = op.start()
    proc.send_signal(signal.SIGTERM)
    names = op.finish(proc, events)
    assert proc.returncode == 128 + signal.SIGTERM
    assert not marker.exists()
    assert "keep.ready" not in names
    assert events[-1]["code"] == "announce.stopped"
    assert events[-1]["signal"] == signal.SIGTERM
    assert sealog("verify", op.store, "--key", op.key).returncode == 0  # closed, not truncated
    verify = op.verify()
    assert f"NOT-STARTED  {header.session_hex}" in verify.stdout
