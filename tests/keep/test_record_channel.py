"""The runtime's record channel: nothing a workload process wrote before it exited is lost.

Real Unix sockets, real threads; no timing.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from sealog.keep._record_channel import RecordChannel


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
