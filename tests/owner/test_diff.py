"""The owner compares two sessions of one workload: "is it my code or the platform?"

DESIGN.md section 7. Two runs never produce identical records (times, pids, temp folders, ids,
measurements), so the normaliser must make equal what only differs by run, keep apart what
differs in behaviour, and ``diff_sessions`` must point at the first real divergence.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sealog.errors import FormatError
from sealog.owner._diff import DiffResult, diff_sessions, normalise_record, normalise_text
from sealog.seal._records import ExceptionInfo, Record

DEBUG, INFO, WARNING, ERROR, CRITICAL = 10, 20, 30, 40, 50


def rec(
    message: str,
    *,
    logger: str = "app",
    level: int = INFO,
    source: str = "workload",
    fields: dict[str, Any] | None = None,
    exception: ExceptionInfo | None = None,
    time: float = 1_700_000_000.0,
    seq: int = 0,
) -> Record:
    return Record(time, level, source, logger, message, None, exception, fields or {}, seq)


def trace(event: str, *args: str, time: float = 0.0) -> Record:
    return rec(
        f"{event} {' '.join(args)}",
        logger="sealog.trace",
        level=DEBUG,
        source="runtime",
        fields={"event": event, "args": list(args)},
        time=time,
    )


def failed_open(path: str, error: str = "FileNotFoundError: [Errno 2] No such file") -> Record:
    return rec(
        f"open failed: {error}",
        logger="sealog.trace",
        level=WARNING,
        source="runtime",
        fields={"event": "open", "args": [path, "r"], "error": error},
    )


def summary(repeats: dict[str, int], over: int = 0) -> Record:
    return rec(
        f"trace summary: {sum(repeats.values())} repeats collapsed, {over} events over the "
        "rate limit",
        logger="sealog.trace",
        level=DEBUG,
        source="runtime",
        fields={"repeats": repeats, "over_limit": over},
    )


def fingerprint(**changes: Any) -> Record:
    fields: dict[str, Any] = {
        "python": "3.11.7",
        "kernel": "6.8.0",
        "cpu_flags": ["hypervisor", "aes"],
        "devices": {"dev/sev-guest": False, "dev/tdx_guest": False},
        "attest": "none",
        "rlimits": {"nofile": [1024, 4096]},
    }
    for k, v in changes.items():
        if k == "devices":
            fields["devices"] = {**fields["devices"], **v}
        else:
            fields[k] = v
    return rec("platform fingerprint", logger="sealog.fingerprint", source="runtime", fields=fields)


def exited(code: int, cpu: float = 0.1, rss: int = 37_000) -> Record:
    return rec(
        f"workload exited with {code}",
        logger="sealog.runtime",
        source="runtime",
        level=INFO if code == 0 else ERROR,
        fields={"exit_code": code, "cpu_user_s": cpu, "cpu_system_s": cpu / 5, "max_rss_kib": rss},
    )


def closed(records: int, code: int = 0) -> Record:
    return rec(
        "session closed",
        logger="sealog.session",
        source="sealog",
        fields={"records": records, "dropped": 0, "exit_code": code},
    )


def run(config: str, *, pid: int, ok: bool = True, fp: Record | None = None) -> list[Record]:
    """The records of one run of a workload that reads ``config``."""
    body = [
        fp or fingerprint(),
        rec("starting workload (python)", logger="sealog.runtime", source="runtime"),
        trace("import", "json"),
        rec(f"probe starting (pid {pid})"),
        rec(f"reading configuration from {config}", level=DEBUG),
        trace("open", config, "r"),
    ]
    if ok:
        body += [rec("configuration loaded: 2 settings"), rec("work done: hello")]
        tail = [exited(0, cpu=pid / 1e5, rss=pid * 3)]
    else:
        body += [
            failed_open(config),
            rec(
                "uncaught FileNotFoundError",
                logger="sealog.uncaught",
                level=CRITICAL,
                exception=ExceptionInfo("FileNotFoundError", f"No such file: '{config}'"),
            ),
        ]
        tail = [exited(1, cpu=pid / 1e5, rss=pid * 3)]
    return [*body, *tail, closed(len(body) + 2, 0 if ok else 1)]


# -- the normaliser: run-specific values are equal, behaviour is not --------------------------

SAME_AFTER_NORMALISING = [
    pytest.param(rec("worker starting (pid 4121)"), rec("worker starting (pid 977)"), id="pid"),
    pytest.param(rec("child pid=4121 started"), rec("child pid=88 started"), id="pid="),
    pytest.param(
        rec("handler <Conn object at 0x7f3a2b1c90>"),
        rec("handler <Conn object at 0x55d0e4a010>"),
        id="memory-address",
    ),
    pytest.param(
        rec("session 86e7743cdcf40f29f5c7df64f709b6ce opened"),
        rec("session a24f1541b9601d02984dc22d0dab59bd opened"),
        id="session-id",
    ),
    pytest.param(
        rec("request 123e4567-e89b-12d3-a456-426614174000 done"),
        rec("request 9b2f0c1e-0000-4abc-8def-0123456789ab done"),
        id="uuid",
    ),
    pytest.param(
        trace("open", "/tmp/sealog-boot-k2j3h4l5/sitecustomize.py", "r"),
        trace("open", "/tmp/sealog-boot-zz81_qpa/sitecustomize.py", "r"),
        id="bootstrap-folder",
    ),
    pytest.param(
        trace("open", "/tmp/tmpk2j3h4l5/cache.db", "rb"),
        trace("open", "/tmp/tmp0a9_xyzw/cache.db", "rb"),
        id="mkdtemp-folder",
    ),
    pytest.param(
        rec("data in /tmp/pytest-of-ci/pytest-7/test_x0/d"),
        rec("data in /tmp/pytest-of-dev/pytest-12/test_x0/d"),
        id="pytest-folder",
    ),
    pytest.param(trace("open", "7", "r"), trace("open", "9", "r"), id="open-of-a-descriptor"),
    pytest.param(rec("batch took 0.53 s"), rec("batch took 1.20 s"), id="duration-text"),
    pytest.param(rec("query took 12ms"), rec("query took 870ms"), id="duration-ms"),
    pytest.param(
        rec("tick", fields={"elapsed_ms": 12, "latency": 0.3, "pid": 7}),
        rec("tick", fields={"elapsed_ms": 99, "latency": 0.9, "pid": 8}),
        id="measured-fields",
    ),
    pytest.param(
        rec("started at 2025-01-02T03:04:05.123Z"),
        rec("started at 2026-11-12 13:14:15"),
        id="iso-time",
    ),
    pytest.param(exited(0, cpu=0.1, rss=37_000), exited(0, cpu=2.5, rss=91_000), id="exit-usage"),
    pytest.param(closed(14), closed(9000), id="closing-counts"),
    pytest.param(
        rec("session closed", logger="sealog.session", fields={"backlog_peak": 3538}),
        rec("session closed", logger="sealog.session", fields={"backlog_peak": 3107}),
        id="backlog-peak-depends-on-timing",
    ),
    pytest.param(
        rec("x", time=1.0, seq=0), rec("x", time=99_999.0, seq=41), id="time-and-sequence"
    ),
]

DIFFERENT_AFTER_NORMALISING = [
    pytest.param(rec("loaded 1 settings"), rec("loaded 2 settings"), id="count-in-message"),
    pytest.param(exited(0), exited(1), id="exit-code"),
    pytest.param(closed(3, 0), closed(3, 1), id="closing-exit-code"),
    pytest.param(
        trace("open", "/etc/probe/a.conf", "r"), trace("open", "/etc/probe/b.conf", "r"), id="path"
    ),
    pytest.param(
        failed_open("/etc/a.conf"), failed_open("/etc/b.conf"), id="failed-open-path-in-fields"
    ),
    pytest.param(
        failed_open("/etc/a", "FileNotFoundError: [Errno 2] x"),
        failed_open("/etc/a", "PermissionError: [Errno 13] y"),
        id="failed-open-error",
    ),
    pytest.param(rec("x", level=INFO), rec("x", level=WARNING), id="level"),
    pytest.param(rec("x", logger="a"), rec("x", logger="b"), id="logger"),
    pytest.param(rec("x", source="workload"), rec("x", source="runtime"), id="source"),
    pytest.param(
        rec("boom", exception=ExceptionInfo("KeyError", "'a'")),
        rec("boom", exception=ExceptionInfo("ValueError", "'a'")),
        id="exception-type",
    ),
    pytest.param(rec("x", fields={"retries": 1}), rec("x", fields={"retries": 3}), id="field"),
    pytest.param(rec("read 12345678 bytes"), rec("read 12345679 bytes"), id="long-decimal"),
]


@pytest.mark.parametrize(("a", "b"), SAME_AFTER_NORMALISING)
def test_run_specific_values_do_not_make_records_differ(a: Record, b: Record) -> None:
    assert normalise_record(a) == normalise_record(b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT_AFTER_NORMALISING)
def test_behaviour_differences_survive_normalising(a: Record, b: Record) -> None:
    assert normalise_record(a) != normalise_record(b)


def test_normalised_text_keeps_the_shape_readable() -> None:
    text = "pid 42 at 0xdeadbeef in /tmp/tmpab12cd34/x session 86e7743cdcf40f29"
    assert normalise_text(text) == "pid <pid> at 0x<addr> in /tmp/tmp<tmp>/x session <hex>"


# -- diff_sessions: the story, and its edge cases ---------------------------------------------


def test_same_workload_same_environment_matches() -> None:
    """Two runs differ in pids, cpu time and RSS only: the sessions match."""
    result = diff_sessions(run("/etc/p.conf", pid=100), run("/etc/p.conf", pid=2_000))
    assert result.same
    assert result.first_divergence is None
    assert result.only_a == result.only_b == ()
    assert result.fingerprint_changes == {}


def test_missing_file_points_at_the_failing_open() -> None:
    """Works in the VM, fails in the Keep: the first divergence is the failed open."""
    a = run("/etc/p.conf", pid=100)
    b = run("/etc/p.conf", pid=200, ok=False)
    result = diff_sessions(a, b, context=2)
    assert not result.same
    first = result.first_divergence
    assert first is not None
    assert b[first.index_b] == failed_open("/etc/p.conf")
    assert a[first.index_a].message == "configuration loaded: 2 settings"
    assert first.index_a == first.index_b == 6
    # context: 2 records before and 2 from the point on, on each side, from the session itself
    assert [x.index for x in first.context_a] == [4, 5, 6, 7]
    assert [x.record for x in first.context_b] == b[4:8]
    assert failed_open("/etc/p.conf") in [x.record for x in result.only_b]
    assert "work done: hello" in [x.record.message for x in result.only_a]
    assert "workload exited with 1" in [x.record.message for x in result.only_b]


@pytest.mark.parametrize(
    ("a_len", "b_len", "expected"),
    [
        pytest.param(8, 5, (5, 5), id="B-stops-early"),
        pytest.param(5, 8, (5, 5), id="A-stops-early"),
        pytest.param(0, 3, (0, 0), id="A-empty"),
    ],
)
def test_one_session_ending_early_diverges_at_its_end(
    a_len: int, b_len: int, expected: tuple[int, int]
) -> None:
    records = [rec(f"step {i}") for i in range(8)]
    result = diff_sessions(records[:a_len], records[:b_len])
    assert result.first_divergence is not None
    assert (result.first_divergence.index_a, result.first_divergence.index_b) == expected
    assert len(result.only_a) == max(0, a_len - b_len)
    assert len(result.only_b) == max(0, b_len - a_len)


def test_platform_difference_is_reported_item_by_item() -> None:
    """Same behaviour on a different platform: records match, the fingerprint items differ."""
    a = run("/etc/p.conf", pid=1, fp=fingerprint())
    b = run(
        "/etc/p.conf",
        pid=2,
        fp=fingerprint(devices={"dev/sev-guest": True}, cpu_flags=["hypervisor", "sev"]),
    )
    result = diff_sessions(a, b)
    assert result.first_divergence is None
    assert not result.same
    assert result.fingerprint_changes == {
        "devices.dev/sev-guest": (False, True),
        "cpu_flags": (["hypervisor", "aes"], ["hypervisor", "sev"]),
    }


def test_fingerprint_missing_on_one_side_names_every_item() -> None:
    a = run("/etc/p.conf", pid=1)
    b = [r for r in run("/etc/p.conf", pid=2) if r.logger != "sealog.fingerprint"]
    result = diff_sessions(a, b)
    assert result.first_divergence is None
    assert result.fingerprint_changes["attest"] == ("none", None)
    assert result.fingerprint_changes["rlimits.nofile"] == ([1024, 4096], None)


def test_trace_window_boundaries_do_not_make_runs_differ() -> None:
    """A repeat re-recorded in a new window, and summaries at other points, are timing only."""
    a = [trace("open", "/data/x", "r"), rec("one"), rec("two"), summary({"open /data/x r": 5})]
    b = [
        trace("open", "/data/x", "r"),
        summary({"open /data/x r": 2}),
        rec("one"),
        trace("open", "/data/x", "r"),  # the same event, recorded again in the next window
        rec("two"),
        summary({"open /data/x r": 2}, over=3),
    ]
    assert diff_sessions(a, b).same


def test_a_new_trace_event_is_a_divergence() -> None:
    a = [trace("open", "/data/x", "r"), rec("done")]
    b = [trace("open", "/data/x", "r"), trace("socket.connect", "<sock>", "10.0.0.1"), rec("done")]
    result = diff_sessions(a, b)
    assert result.first_divergence is not None
    assert (result.first_divergence.index_a, result.first_divergence.index_b) == (1, 1)
    assert [x.index for x in result.only_b] == [1]
    assert result.only_a == ()


def test_divergence_deep_in_a_repetitive_session_is_found() -> None:
    """Hundreds of look-alike records: the matcher must not skip them as "popular" junk."""
    a = [rec("tick") if i % 2 else rec("tock") for i in range(600)]
    b = list(a)
    del b[451]
    result = diff_sessions(a, b)
    assert result.first_divergence is not None
    assert len(result.only_a) == 1
    assert result.only_b == ()
    assert a[result.only_a[0].index].message == a[451].message


def test_context_zero_and_negative() -> None:
    a, b = [rec("x"), rec("y")], [rec("x"), rec("z")]
    result = diff_sessions(a, b, context=0)
    assert result.first_divergence is not None
    assert result.first_divergence.context_a == result.first_divergence.context_b == ()
    with pytest.raises(FormatError, match="context"):
        diff_sessions(a, b, context=-1)


def test_to_json_is_plain_json() -> None:
    result = diff_sessions(
        run("/etc/p.conf", pid=1),
        run("/etc/p.conf", pid=2, ok=False, fp=fingerprint(kernel="6.9.1")),
    )
    obj = json.loads(json.dumps(result.to_json()))
    assert obj["same"] is False
    first = obj["first_divergence"]
    at_b = next(x for x in first["context_b"] if x["index"] == first["index_b"])
    assert at_b["message"].startswith("open failed")
    assert at_b["fields"]["args"] == ["/etc/p.conf", "r"]
    assert obj["fingerprint_changes"] == {"kernel": ["6.8.0", "6.9.1"]}
    assert obj["first_failing_call"]["a"] is None
    assert obj["first_failing_call"]["b"]["message"].startswith("open failed")
    assert DiffResult(None).to_json() == {
        "same": True,
        "first_divergence": None,
        "only_a": [],
        "only_b": [],
        "fingerprint_changes": {},
        "first_failing_call": {"a": None, "b": None},
    }


def _streams(order: str) -> list[Record]:
    """Runtime start, then stdout and stderr lines interleaved as ``order`` says, then exit."""
    counts = {"o": 0, "e": 0}
    out = [rec("starting workload (command)", logger="sealog.runtime", source="runtime")]
    for which in order:
        counts[which] += 1
        stream = "stdout" if which == "o" else "stderr"
        out.append(rec(f"{stream} {counts[which]}", logger=stream))
    out.append(rec("workload exited with 0", logger="sealog.runtime", source="runtime"))
    return out


def test_two_pipes_interleaving_differently_is_not_a_divergence() -> None:
    assert diff_sessions(_streams("oeoeoe"), _streams("ooeeoe")).same
    assert diff_sessions(_streams("oooeee"), _streams("eeeooo")).same


def test_a_line_missing_from_one_stream_is_still_found() -> None:
    a = _streams("oeoeoe")
    b = [r for r in _streams("ooeeoe") if r.message != "stderr 2"]
    result = diff_sessions(a, b)
    assert not result.same
    assert [x.record.message for x in result.only_a] == ["stderr 2"]
    assert result.first_divergence is not None
    assert a[result.first_divergence.index_a].message == "stderr 2"
