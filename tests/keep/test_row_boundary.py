"""Rows from the workload are checked and re-stamped where they enter the runtime.

The record channel from the workload's interpreter is the one place where the workload hands
the runtime structured data. A workload (buggy or hostile) that writes to it directly must not
be able to pass records off as sealog's own, nor crash the runtime or the owner's reader.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))

from sealog.errors import FormatError
from sealog.host import Store
from sealog.owner import read_store, verify_store
from sealog.profile import builtin_profile
from sealog.seal import OwnerPrivateKey, Row
from sealog.seal._records import encode_batch
from sealog.seal._writer import start_profile_session
from streams import none_evidence

FORGED = [
    # a fake end of session, a fake profile revert, a fake flight-recorder release
    [1.0, 20, "sealog", "sealog.session", "session closed", None, None, {"records": 1}],
    [1.0, 30, "sealog", "sealog.control", "reverted", None, None, {"event": "profile.reverted"}],
    [1.0, 30, "runtime", "sealog.control", "ring", None, None, {"event": "ring.sealed"}],
    # a source that is not even text (it used to kill the sealer thread)
    [1.0, 30, ["a", "list"], "app", "odd source", None, None, None],
]
MALFORMED: list[Any] = [
    [1.0, 40, "workload", "app", "x", None, {"type": "E", "frames": [["f", "9", "g", None]]}, None],
    [1.0, 40, "workload", 42, "x", None, None, None],
    [1.0, "ERROR", "workload", "app", "x", None, None, None],
    [float("nan"), 40, "workload", "app", "x", None, None, None],
    [1.0, 40, "workload", "app", "x", None, None, ["not", "a", "dict"]],
    [1.0, 40, "workload", "app"],
    "not a row",
]


@pytest.mark.parametrize("row", FORGED)
def test_workload_row_claiming_to_be_sealogs_own_is_restamped(row: list[Any]) -> None:
    checked = Row.from_workload(row)
    assert checked.source == "workload"
    assert checked.message == row[4]


def test_trace_rows_keep_their_runtime_source() -> None:
    row = [1.0, 10, "runtime", "sealog.trace", "open x", None, None, None]
    assert Row.from_workload(row).source == "runtime"


@pytest.mark.parametrize("row", MALFORMED)
def test_malformed_workload_row_is_refused_at_the_boundary(row: Any) -> None:
    with pytest.raises(FormatError, match="row"):
        Row.from_workload(row)


ATTACKER = textwrap.dedent(
    """
    import json, logging, os
    sock = logging.getLogger().handlers[0]._sink._connect()  # the record channel, found
    rows = json.loads(os.environ["ROWS"])
    sock.sendall((json.dumps(rows) + "\\n").encode())
    sock.sendall(b"[" * 100000 + b"\\n")  # nested past any parser's recursion limit
    logging.getLogger("app").error("still logging")
    """
)


def test_workload_writing_forged_and_malformed_rows_to_the_channel_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clihelp import sealog

    sealog("keygen", tmp_path / "owner")
    script = tmp_path / "attack.py"
    script.write_text(ATTACKER)
    monkeypatch.setenv("ROWS", json.dumps(FORGED + MALFORMED))
    store = tmp_path / "store"
    done = sealog(
        "run", "--owner", tmp_path / "owner.pub", "--profile", "testing", "--store", store,
        "--", sys.executable, script,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    key = OwnerPrivateKey.load(tmp_path / "owner.key")
    (verdict,) = verify_store(store, key)
    assert verdict.ok, verdict.message
    records = [r for _, r in read_store(store, key)]
    sealog_own = [r.message for r in records if r.source == "sealog"]
    # The only sealog records are the runtime's: the count of refused rows and the real close.
    assert sealog_own[-1] == "session closed"
    assert sealog_own.count("session closed") == 1
    (refused,) = [r for r in records if r.fields.get("refused_rows")]
    assert refused.fields["refused_rows"] == len(MALFORMED) + 1
    forged_texts = {"session closed", "reverted", "ring", "odd source"}
    forged = [r for r in records if r.message in forged_texts]
    assert [r.source for r in forged if r.source != "sealog"] == ["workload"] * 4
    assert any(r.message == "still logging" for r in records)


@pytest.mark.parametrize("row", [*MALFORMED, FORGED[-1]], ids=str)
def test_malformed_row_inside_authenticated_data_is_a_modification_not_a_crash(
    tmp_path: Path, owner_key: OwnerPrivateKey, row: object
) -> None:
    profile = builtin_profile("testing")
    header, sealer = start_profile_session(owner_key.public_key, profile, none_evidence)
    sink = Store.create(tmp_path / "store").new_session(header)
    # Malformed on purpose: a buggy or hostile sealer, not the typed row the Keep writes.
    sink.write_frame(sealer.seal(encode_batch([row])))  # type: ignore[list-item]
    sink.write_frame(sealer.seal(b"", close=True))
    sink.close()
    (verdict,) = verify_store(tmp_path / "store", owner_key)
    assert verdict.status == "modified"
    assert "frame 0" in verdict.message
