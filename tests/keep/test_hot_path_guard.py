"""The logging hot path stays batched: counted, never timed.

DESIGN.md section 10: a busy service's INFO must not pay a system call or an AEAD call per
record; only ERROR and above (and explicit flushes) pay for immediacy. These tests count the
frames sealed (one AEAD call each) and the ``os.write`` calls while many records are logged, so a
change that starts doing per-record work fails here whatever the machine's speed.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import sealog
from sealog.keep._record_channel import RecordChannel
from sealog.keep._workload import SocketSink
from sealog.seal import Row
from sealog.seal._frames import FrameSealer
from sealog.seal._keys import generate_owner_key

N = 5000


class _Counts:
    """Calls per thread name (the caller's thread is ``MainThread``)."""

    def __init__(self) -> None:
        self.seal: Counter[str] = Counter()
        self.write: Counter[str] = Counter()


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> _Counts:
    c = _Counts()
    real_seal = FrameSealer.seal
    real_write = os.write

    def seal(self: FrameSealer, data: bytes, *, close: bool = False) -> bytes:
        c.seal[threading.current_thread().name] += 1
        return real_seal(self, data, close=close)

    def write(fd: int, data: Any) -> int:
        c.write[threading.current_thread().name] += 1
        return real_write(fd, data)

    monkeypatch.setattr(FrameSealer, "seal", seal)
    monkeypatch.setattr(os, "write", write)
    return c


def _logger(name: str) -> logging.Logger:
    log = logging.getLogger(f"hot-path-guard.{name}")
    log.propagate = False
    return log


def _session(tmp_path: Path, profile: str, log: logging.Logger, host: io.StringIO) -> Any:
    pub = generate_owner_key().public_key
    return sealog.open_session(pub, tmp_path / "store", profile, logger=log, host_stream=host)


def test_info_records_cost_no_aead_call_and_no_write_on_the_callers_thread(
    tmp_path: Path, counts: _Counts
) -> None:
    """testing profile: no cover traffic, every record sealed; INFO is batched."""
    log = _logger("info")
    session = _session(tmp_path, "testing", log, io.StringIO())
    counts.seal.clear()
    counts.write.clear()
    for i in range(N):
        log.info("request %d from %s took %.2f ms", i, "10.0.0.1", 3.14, extra={"user": "bob"})
    caller_seals = counts.seal["MainThread"]
    caller_writes = counts.write["MainThread"]
    session.close()
    assert caller_seals == 0
    assert caller_writes == 0
    # Off the caller's thread too, frames carry batches: far fewer than one per record.
    assert sum(counts.seal.values()) < N // 100
    assert sum(counts.write.values()) < N // 100


def test_each_error_is_sealed_and_written_before_the_call_returns(
    tmp_path: Path, counts: _Counts
) -> None:
    """The price of durability is paid by ERROR only, and by every ERROR."""
    log = _logger("error")
    session = _session(tmp_path, "testing", log, io.StringIO())
    counts.seal.clear()
    for i in range(20):
        log.info("routine %d", i)
        before = sum(counts.seal.values())
        log.error("failed %d", i)
        assert sum(counts.seal.values()) >= before + 1  # its frame exists when the call returns
    session.close()


def test_development_host_lines_are_written_in_batches(tmp_path: Path, counts: _Counts) -> None:
    """development: the host's plain copy of each record does not cost a write per record."""
    log = _logger("dev")
    host = io.StringIO()
    writes = Counter[str]()
    real = host.write

    def counting(text: str) -> int:
        writes[threading.current_thread().name] += 1
        return real(text)

    host.write = counting  # type: ignore[method-assign]
    session = _session(tmp_path, "development", log, host)
    writes.clear()
    counts.write.clear()
    for i in range(N):
        log.info("request %d", i)
    session.close()
    assert sum(writes.values()) < N // 100
    assert sum(counts.write.values()) < N // 100
    assert host.getvalue().count('"event":"keep.log"') == N  # batched, never dropped


def test_workload_connection_is_written_once_per_batch_not_per_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sealog run, workload side: rows reach the runtime over the socket in batches."""
    received: list[Any] = []
    done = threading.Event()

    def on_line(message: Any) -> None:
        received.extend(message)
        if len(received) == N:
            done.set()

    channel = RecordChannel(tmp_path / "records.sock", on_line)
    sends: Counter[str] = Counter()
    real_sendall = socket.socket.sendall

    def sendall(self: socket.socket, data: Any, *args: Any) -> None:
        sends[threading.current_thread().name] += 1
        real_sendall(self, data, *args)

    monkeypatch.setattr(socket.socket, "sendall", sendall)
    sink = SocketSink(str(channel.path), lambda message: None)
    for i in range(N):
        sink.submit(Row(0.0, logging.INFO, "workload", "app", f"request {i}", None, None, None))
    sink.close()
    assert done.wait(10)
    channel.close()
    assert 0 < sum(sends.values()) < N // 100
    assert [r[4] for r in received] == [f"request {i}" for i in range(N)]
