"""A store worth looking at, made for the viewer's tests.

Three sessions, as an owner would find them after an incident:

* ``k1`` (production): six minutes of a payments service, an incident window opened by an
  order approved by alice and bob, the flight recorder released by that order, a timely
  revert, an ERROR with a traceback, and a record that tries to inject HTML;
* ``k2`` (production): the same service on another Keep, diverging where it hits a different
  error;
* a session made by a real ``sealog run`` under the staging profile (padded frames at a
  constant rate), whose frame timing the host view plots.

The first two are written through the library with chosen record times, so the time axis,
the per-minute counts and the order's window are known exactly.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from approvals import TwoApprovers
from sealog.host import Store
from sealog.keep._session import SealedSession
from sealog.profile import builtin_profile, builtin_text, profile_digest
from sealog.seal import Row
from sealog.seal._header import LaunchConfig
from sealog.seal._keys import OwnerPrivateKey
from sealog.seal._writer import start_session
from streams import none_evidence, plain_profile

__all__ = ["INJECTION", "SECRET_WORD", "ViewerStore", "build_viewer_store"]

#: A message that would run script if the viewer did not escape records.
INJECTION = '<script>document.title="pwned"</script><img src=x onerror=alert(1)>'
#: A word only the sealed records hold: it must never reach the host's files in clear.
SECRET_WORD = "card-4242-visible-only-to-the-owner"  # noqa: S105 - a canary, not a password
#: The launch profile's digest in the library-written headers, and the incident profile's.
LAUNCH_DIGEST = b"\x11" * 32
INCIDENT_DIGEST = profile_digest(builtin_profile("incident")).hex()
#: Seconds of records in the library-written sessions.
SPAN = 360.0
_INCIDENT_AT, _INCIDENT_FOR = 120, 90

WORKLOAD = textwrap.dedent(
    """
    import logging, time
    log = logging.getLogger("batch")
    for i in range(24):
        log.info("batch %d settled", i)
        time.sleep(0.05)
    raise RuntimeError("ledger unavailable")
    """
)


@dataclass(frozen=True)
class ViewerStore:
    """The store and what the tests need to know about it."""

    path: Path
    key: OwnerPrivateKey
    key_file: Path
    incident: str  # the k1 session (with the incident window)
    other: str  # the k2 session (diverges from k1)
    padded: str  # the session from a real `sealog run` under staging
    start: float  # time of the first record of k1 and k2


def _exception(kind: str, message: str) -> dict[str, Any]:
    return {
        "type": kind,
        "message": message,
        "frames": [
            ["/srv/payments/worker.py", 88, "handle", "settle(batch)"],
            ["/srv/payments/ledger.py", 41, "settle", "raise LedgerError(reason)"],
        ],
    }


def _row(
    t: float,
    level: int,
    message: str,
    fields: dict[str, Any] | None = None,
    *,
    source: str = "workload",
    logger: str = "payments",
    exc: Any = None,
) -> Row:
    return Row(t, level, source, logger, message, None, exc, fields or {})


def _control(t: float, message: str, fields: dict[str, Any]) -> Row:
    return _row(t, 30, message, fields, source="sealog", logger="sealog.control")


def _rows(start: float, keep: str, bundle: dict[str, Any] | None) -> list[Row]:
    """The records of one session, in sealing order (time order, except the flight
    recorder's records, which are sealed right after the release note that announces them)."""
    rows: list[Row] = []
    ring: list[Row] = []
    order_at = start + _INCIDENT_AT
    if bundle is not None:
        expires = bundle["order"]["body"]["not_after"]
        rows.append(
            _control(
                order_at,
                "profile changed to incident by order",
                {
                    "event": "profile.changed",
                    "profile": "incident",
                    "bundle": bundle,
                    "approvers": ["alice", "bob"],
                    "profile_digest": INCIDENT_DIGEST,
                    "expires": expires,
                },
            )
        )
        rows.append(
            _control(
                order_at + 0.2,
                "flight recorder: 3 records from before the order follow",
                {"event": "ring.sealed", "records": 3},
            )
        )
        ring = [
            _row(order_at - 30 + k * 10, 10, f"retry {k} for acquirer", {"attempt": k})
            for k in range(3)
        ]
        end = datetime.fromisoformat(expires).timestamp()
        rows.append(
            _control(
                end + 0.4,
                "profile reverted to production",
                {
                    "event": "profile.reverted",
                    "profile": "production",
                    "profile_digest": LAUNCH_DIGEST.hex(),
                },
            )
        )
    for i in range(int(SPAN // 4)):
        t = start + i * 4.0
        if bundle is not None and order_at < t < order_at + _INCIDENT_FOR:
            rows.append(_row(t + 0.5, 10, f"acquirer latency {i * 7} ms", {"latency_ms": i * 7}))
        rows.append(_row(t, 20, f"payment {i} settled", {"payment": i}))
        if i % 15 == 7:
            rows.append(_row(t + 1, 30, f"slow acquirer for payment {i}"))
        if i == 40:
            rows.append(_row(t + 2, 20, INJECTION))
            rows.append(_row(t + 2.5, 20, f"customer note {SECRET_WORD}"))
        if i == 60:
            error = (
                ("LedgerError", "ledger replica eu-1 refused the write")
                if keep == "k1"
                else ("TimeoutError", "acquirer did not answer in 30 s")
            )
            rows.append(
                _row(t + 3, 40, f"payment {i} failed", {"payment": i}, exc=_exception(*error))
            )
    rows.sort(key=lambda r: r[0])
    if ring:
        at = next(n for n, r in enumerate(rows) if (r.fields or {}).get("event") == "ring.sealed")
        rows[at + 1 : at + 1] = ring
    return rows


def _library_session(
    store: Path,
    key: OwnerPrivateKey,
    control: TwoApprovers,
    keep: str,
    start: float,
    incident: bool,
) -> str:
    prof = dataclasses.replace(plain_profile(), name="production")
    launch = LaunchConfig(
        "production", "production", LAUNCH_DIGEST, key.public_key.key_id, control.digest
    )
    header, sealer = start_session(
        key.public_key, launch, none_evidence, keep_id=keep, now=start - 2
    )
    sealed = SealedSession(
        sealer, Store.create(store).new_session(header), prof.owner, prof.stream, start=False
    )
    sealed.submit(
        _control(
            start - 1,
            "control policy in force",
            {"event": "control.policy", "digest": control.digest.hex(), "policy": control.text},
        )
    )
    bundle = (
        control.bundle(
            keep,
            start + _INCIDENT_AT - 1,
            _INCIDENT_FOR,
            reason="payments failing in eu-1",
            flight_recorder=True,
        )
        if incident
        else None
    )
    for n, row in enumerate(_rows(start, keep, bundle)):
        sealed.submit(row)
        if n % 20 == 19:
            sealed.flush()
    sealed.close()
    return header.session_hex


def _run_session(root: Path, store: Path, pub: Path) -> None:
    """A real Keep under a staging profile with a fast constant rate (0.05 s)."""
    text = builtin_text("staging")
    lines = [
        "flush_interval = 0.05" if line.strip().startswith("flush_interval") else line
        for line in text.splitlines()
    ]
    profile = root / "staging-fast.toml"
    profile.write_text("\n".join(lines) + "\n")
    script = root / "batch.py"
    script.write_text(WORKLOAD)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sealog",
            "run",
            "--owner",
            str(pub),
            "--profile",
            str(profile),
            "--store",
            str(store),
            "--keep-id",
            "k3",
            "--",
            sys.executable,
            str(script),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr


def build_viewer_store(root: Path) -> ViewerStore:
    """Write the three sessions into ``root/store`` and the owner key into ``root``."""
    from sealog.seal._keys import generate_owner_key, write_key_pair

    key = generate_owner_key()
    key_file, pub = write_key_pair(key, root / "owner")
    store = root / "store"
    control = TwoApprovers(root / "audit-log")
    # Records end a few seconds before the sessions close (the closing record is stamped now).
    start = float(int(time.time() - SPAN) - 5)
    incident = _library_session(store, key, control, "k1", start, incident=True)
    other = _library_session(store, key, control, "k2", start, incident=False)
    before = {p.name.split(".")[0] for p in store.glob("*.seal")}
    _run_session(root, store, pub)
    (padded,) = {p.name.split(".")[0] for p in store.glob("*.seal")} - before
    return ViewerStore(store, key, key_file, incident, other, padded, start)
