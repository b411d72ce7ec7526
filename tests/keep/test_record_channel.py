"""The runtime's record channel: nothing a workload process wrote before it exited is lost.

Real Unix sockets, real threads; no timing.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from sealog.keep._record_channel import RecordChannel
from sealog.keep._workload import _encode_rows
from sealog.seal import Row
from sealog.seal._fast_json import decode_json
from sealog.seal._row import make_row


def _client(path: Path, data: bytes) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    sock.sendall(data)
    sock.close()


def test_process_that_connected_wrote_and_exited_before_being_accepted_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workload's last process can connect, write its rows and exit before the runtime's
    acceptor gets to it; closing the channel must still take that connection in."""
    monkeypatch.setattr(RecordChannel, "_accept", lambda self: None)  # an acceptor far behind
    got: list[Any] = []
    done = threading.Event()

    def on_line(message: Any) -> None:
        got.append(message)
        done.set()

    channel = RecordChannel(tmp_path / "records.sock", on_line)
    _client(channel.path, b'[["last words"]]\n')
    channel.stop_accepting()
    channel.join(timeout=10)
    channel.close()
    assert done.is_set()
    assert got == [[["last words"]]]


def test_a_line_that_is_not_json_is_handed_on_as_refused(tmp_path: Path) -> None:
    got: list[Any] = []
    channel = RecordChannel(tmp_path / "records.sock", got.append)
    _client(channel.path, b"not json\n" + b"[" * 100_000 + b"\n[1]\n")
    channel.stop_accepting()
    channel.join(timeout=10)
    channel.close()
    assert got == [None, None, [1]]


def _rows(fields: dict[str, Any], n: int = 20) -> list[Row]:
    return [
        make_row(1700000000.5 + i, 20, "workload", "app", f"é ✓ \u2028 {i}", "t", None, fields)
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "fields",
    [
        {"n": 1, "x": [1.5, None, True], "nested": {"k": "v"}},
        {"when": dt.datetime(2026, 11, 27, 12, 0), "tags": {"a", "b"}, "raw": b"\x00"},
        {"ratio": float("nan"), "big": 2**80, "bad": "\udcff"},
    ],
    ids=["plain", "not-json", "edges"],
)
@pytest.mark.parametrize("n", [3, 20], ids=["small batch", "large batch"])
def test_rows_reach_the_runtime_as_the_standard_encoding_means_them(
    fields: dict[str, Any], n: int
) -> None:
    """Whichever encoder a workload's batch takes, the runtime reads the values json.dumps
    with ``default=str`` would have given it."""
    rows = _rows(fields, n)
    line = _encode_rows(rows)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1  # one line per batch, whatever the text holds
    got = decode_json(line)
    want = json.loads(json.dumps(rows, separators=(",", ":"), default=str))
    assert json.dumps(got) == json.dumps(want)  # NaN compares unequal to itself: compare text
