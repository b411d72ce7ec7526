"""``sealog run`` of programs that are not Python's ``logging``: their output is understood.

Real programs print real output: bash prints every line format, a plain Python command dies
with a traceback, structlog and loguru programs use their default setups, redis-server starts
and fails. The owner must get each line at its level, the profile's redaction on the fields
found in lines, and each traceback or panic as one record.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import socket
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from clihelp import fast_profile, sealog

from sealog.keep._shape import REDACTED
from sealog.seal._keys import generate_owner_key, write_key_pair

#: (line, stream, level it means). Every line carries its case id so that its record is found.
LINES: list[tuple[str, str, str]] = [
    ('{"level":"error","msg":"case01 db down","password":"hunter2"}', "stderr", "ERROR"),
    (
        '{"level":50,"time":1700000000000,"msg":"case02 pino","token":"tok_live_abc"}',
        "stdout",
        "ERROR",
    ),
    ('{"severity":"ERROR","message":"case03 severity"}', "stdout", "ERROR"),
    (
        'time=2026-11-27T10:00:00Z level=error msg="case04 upstream" password=hunter2',
        "stderr",
        "ERROR",
    ),
    ("<3>case05 disk failed", "stderr", "ERROR"),
    ("E1127 10:00:00.000000   12345 main.go:42] case06 sync failed", "stderr", "ERROR"),
    ("ERROR case07 boom", "stdout", "ERROR"),
    ("[error] case08 bracketed", "stdout", "ERROR"),
    ("ERROR: case09 database unreachable", "stdout", "ERROR"),
    ("CRITICAL case10 out of disk", "stderr", "CRITICAL"),
    ("FATAL case11 giving up", "stderr", "CRITICAL"),
    ("error: case12 cannot open config", "stderr", "ERROR"),
    ("12345:M 27 Nov 2026 10:00:00.123 # Failed listening on port case13", "stdout", "ERROR"),
    ("2026-11-27 10:00:00,123 ERROR [main] case14 request failed", "stdout", "ERROR"),
    ('{"level":"info","msg":"case20 fine"}', "stderr", "INFO"),
    ('level=info msg="case21 fine"', "stderr", "INFO"),
    ("<6>case22 fine", "stderr", "INFO"),
    ("I1127 10:00:00.000000   12345 main.go:42] case23 fine", "stderr", "INFO"),
    ("INFO case24 fine", "stderr", "INFO"),
    ("12345:M 27 Nov 2026 10:00:00.123 * case25 Ready to accept connections", "stderr", "INFO"),
    ("[info] case26 fine", "stderr", "INFO"),
    ("WARN: case30 slow", "stdout", "WARNING"),
    ("<4>case31 slow", "stdout", "WARNING"),
    ("W1127 10:00:00.000000   12345 main.go:42] case32 slow", "stdout", "WARNING"),
    ("12345:M 27 Nov 2026 10:00:00.123 # case33 Server initialized", "stdout", "WARNING"),
    ('{"level":20,"msg":"case40 detail"}', "stdout", "DEBUG"),
    ("DEBUG case41 detail", "stdout", "DEBUG"),
    ("<7>case42 detail", "stdout", "DEBUG"),
    ("case50 plain stderr", "stderr", "WARNING"),
    ("case51 plain stdout", "stdout", "INFO"),
]

GO_PANIC = """\
panic: case60 runtime error: index out of range [5] with length 3

goroutine 1 [running]:
main.lookup(...)
\t/src/app/main.go:12
main.main()
\t/src/app/main.go:20 +0x1d

goroutine 6 [chan receive]:
main.worker(0xc000010000)
\t/src/app/worker.go:8 +0x45
created by main.main in goroutine 1
\t/src/app/main.go:18 +0x6a
exit status 2"""

JAVA_TRACE = """\
Exception in thread "main" java.lang.IllegalStateException: case61 pool closed
\tat com.example.Pool.get(Pool.java:42)
\tat com.example.App.main(App.java:7)
Caused by: java.io.IOException: socket closed
\tat com.example.Net.read(Net.java:99)
\t... 2 more"""

RUST_PANIC = """\
thread 'main' panicked at src/main.rs:4:5:
case62 called `Option::unwrap()` on a `None` value
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace"""


def bash_script(folder: Path) -> Path:
    """A bash program printing every format, then the traces of other languages, then a
    real Python traceback from a plain command."""
    out = ["#!/bin/bash"]
    for line, stream, _ in LINES:
        redirect = " >&2" if stream == "stderr" else ""
        out.append(f"printf '%s\\n' {shlex.quote(line)}{redirect}")
    for block in (GO_PANIC, JAVA_TRACE, RUST_PANIC):
        out.append(f"printf '%s\\n' {shlex.quote(block)} >&2")
    out.append("echo 'after the traces' >&2")
    # -I: an interpreter that takes nothing from the environment, a plain command to sealog.
    fail = folder / "fail.py"
    fail.write_text('def load(p):\n    raise KeyError(p)\n\nload("case63")\n')
    out.append(f"python3 -I {fail}")
    path = folder / "formats.sh"
    path.write_text("\n".join(out) + "\n")
    path.chmod(0o755)
    return path


@dataclass(frozen=True)
class Keys:
    folder: Path
    key: Path
    pub: Path


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    folder = tmp_path_factory.mktemp("any-workload")
    key, pub = write_key_pair(generate_owner_key(), folder / "owner")
    return Keys(folder, key, pub)


@pytest.fixture(scope="module")
def formats_testing(keys: Keys) -> list[dict[str, Any]]:
    """The owner's records of one run of the formats program under testing."""
    folder = keys.folder / "testing"
    folder.mkdir()
    store = run(folder, keys.pub, "testing", "bash", bash_script(folder))
    return owner_records(store, keys.key)


@pytest.fixture(scope="module")
def formats_production(keys: Keys) -> list[dict[str, Any]]:
    """The same under production."""
    folder = keys.folder / "production"
    folder.mkdir()
    store = run(folder, keys.pub, "production", "bash", bash_script(folder))
    return owner_records(store, keys.key)


def run(tmp_path: Path, pub: Path, profile: str, *cmd: str | Path, store: str = "st") -> Path:
    prof = fast_profile(tmp_path, profile)
    done = sealog("run", "--owner", pub, "--profile", prof, "--store", tmp_path / store, "--", *cmd)
    assert "Traceback" not in done.stderr, done.stderr
    return tmp_path / store


def owner_records(store: Path, key: Path) -> list[dict[str, Any]]:
    done = sealog("read", store, "--key", key, "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def by_case(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for r in records:
        for case in re.findall(r"case\d\d", r["message"] + json.dumps(r["exception"])):
            found.setdefault(case, r)
    return found


def test_under_testing_every_line_arrives_with_its_level(
    formats_testing: list[dict[str, Any]],
) -> None:
    got = by_case(formats_testing)
    for line, stream, level in LINES:
        case = line.split("case")[1][:2]
        assert got["case" + case]["level"] == level, line
        assert got["case" + case]["logger"] == stream, line
    assert got["case01"]["message"] == "case01 db down"  # JSON: the message, fields apart
    assert got["case04"]["fields"]["time"] == "2026-11-27T10:00:00Z"


def test_under_testing_traces_and_panics_are_one_record_each(
    formats_testing: list[dict[str, Any]],
) -> None:
    records = formats_testing
    got = by_case(records)
    go, java, rust, py = got["case60"], got["case61"], got["case62"], got["case63"]
    assert (go["level"], go["exception"]["type"]) == ("CRITICAL", "panic")
    assert go["fields"]["goroutines"] == 2
    assert ["/src/app/main.go", 20, "main.main", None] in go["exception"]["frames"]
    assert (java["level"], java["exception"]["type"]) == (
        "ERROR",
        "java.lang.IllegalStateException",
    )
    assert "Caused by: java.io.IOException" in java["exception"]["message"]
    assert java["exception"]["frames"][0] == ["Pool.java", 42, "com.example.Pool.get", None]
    assert (rust["level"], rust["exception"]["type"]) == ("CRITICAL", "panic")
    assert rust["exception"]["frames"][0][:2] == ["src/main.rs", 4]
    assert (py["level"], py["exception"]["type"]) == ("ERROR", "KeyError")
    assert py["exception"]["frames"][-1][2:] == ["load", "raise KeyError(p)"]  # testing: full
    # Nothing of a trace is left over as a record of its own.
    stray = [r for r in records if r["message"].startswith(("\tat ", "goroutine ", "note: "))]
    assert stray == []
    assert any(r["message"] == "after the traces" for r in records)


def test_under_production_errors_reach_the_owner_and_info_does_not(
    formats_production: list[dict[str, Any]],
) -> None:
    records = formats_production
    got = by_case(records)
    for line, _, level in LINES:
        case = "case" + line.split("case")[1][:2]
        if level in ("ERROR", "CRITICAL"):
            assert got[case]["level"] == level, line
        elif level in ("INFO", "DEBUG"):
            assert case not in got, line  # stderr's default WARNING must not let them through
    assert got["case63"]["level"] == "ERROR"
    assert got["case63"]["exception"]["frames"][-1][3] is None  # production: locations only
    everything = json.dumps(records)
    assert "hunter2" not in everything
    assert "tok_live_abc" not in everything
    assert got["case01"]["fields"]["password"] == REDACTED
    assert got["case04"]["fields"]["password"] == REDACTED


STRUCTLOG_APP = """
import sys
import structlog
tag = sys.argv[1]
if tag.endswith("json"):
    structlog.configure(processors=[
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(),
    ])
log = structlog.get_logger()
log.info("service started", tag=tag)
log.error("db down " + tag, password="hunter2", token="tok_live_abc")
try:
    {}[tag]
except KeyError:
    log.exception("lookup failed")
log.info("still running", tag=tag)
"""

LOGURU_APP = """
import sys
from loguru import logger
tag = sys.argv[1]
if tag.endswith("json"):
    logger.remove()
    logger.add(sys.stderr, serialize=True)
logger.info("service started {}", tag)
logger.bind(password="hunter2").error("db down " + tag + " password=hunter2")
def check(x):
    raise ValueError(x)
try:
    check(tag)
except ValueError:
    logger.exception("check failed")
logger.info("still running {}", tag)
"""

VARIANTS = ("structlog-console", "structlog-json", "loguru-console", "loguru-json")


@pytest.fixture(scope="module")
def libraries(keys: Keys) -> list[dict[str, Any]]:
    """One production run of real structlog and loguru programs, default and JSON setups."""
    folder = keys.folder / "libraries"
    folder.mkdir()
    (folder / "structlog_app.py").write_text(STRUCTLOG_APP)
    (folder / "loguru_app.py").write_text(LOGURU_APP)
    # Through sh, with -I: plain commands whose output is all sealog sees of these libraries.
    python = shlex.quote(sys.executable)
    command = "; ".join(
        f"{python} -I {folder}/{tag.split('-')[0]}_app.py {tag}" for tag in VARIANTS
    )
    store = run(folder, keys.pub, "production", "sh", "-c", command)
    return [r for r in owner_records(store, keys.key) if r["source"] == "workload"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_python_logging_libraries_output_is_understood_under_production(
    libraries: list[dict[str, Any]], variant: str
) -> None:
    everything = json.dumps(libraries)
    assert "hunter2" not in everything
    assert "tok_live_abc" not in everything
    assert not any("started" in r["message"] or "still running" in r["message"] for r in libraries)
    errors = [r for r in libraries if r["level"] == "ERROR"]
    assert any(f"db down {variant}" in r["message"] for r in errors), libraries
    failed = [r for r in errors if variant in json.dumps(r["exception"])]
    assert len(failed) == 1, libraries  # the traceback is one record
    expected = "KeyError" if variant.startswith("structlog") else "ValueError"
    assert failed[0]["exception"]["type"] == expected


def test_identical_runs_diff_as_equal_however_the_pipes_interleaved(
    tmp_path: Path, keys: Keys
) -> None:
    key, pub = keys.key, keys.pub
    loop = "for i in 1 2 3 4 5; do echo out $i; echo err $i >&2; done"
    a = run(tmp_path, pub, "testing", "sh", "-c", loop, store="a")
    b = run(tmp_path, pub, "testing", "sh", "-c", loop, store="b")
    done = sealog("diff", a, b, "--key", key)
    assert done.returncode == 0, done.stdout + done.stderr
    # Each stream's own order is exact.
    for store in (a, b):
        records = owner_records(store, key)
        for stream, word in (("stdout", "out"), ("stderr", "err")):
            got = [r["message"] for r in records if r["logger"] == stream]
            assert got == [f"{word} {i}" for i in range(1, 6)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(
    shutil.which("redis-server") is None or shutil.which("redis-cli") is None,
    reason="redis-server not installed (.ci/run installs it with apt-get)",
)
def test_redis_server_levels_reach_the_owner(tmp_path: Path, keys: Keys) -> None:
    key, pub = keys.key, keys.pub
    port = _free_port()
    script = tmp_path / "redis.sh"
    script.write_text(
        textwrap.dedent(
            f"""\
            redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no &
            for i in $(seq 200); do
                redis-cli -p {port} ping >/dev/null 2>&1 && break
                sleep 0.05
            done
            redis-cli -p {port} shutdown nosave >/dev/null
            wait
            redis-server {tmp_path}/missing.conf
            """
        )
    )
    store = run(tmp_path, pub, "testing", "bash", script)
    records = [r for r in owner_records(store, key) if r["source"] == "workload"]
    ready = [r for r in records if "Ready to accept connections" in r["message"]]
    assert [r["level"] for r in ready] == ["INFO"]
    fatal = [r for r in records if "can't open config file" in r["message"]]
    assert [r["level"] for r in fatal] == ["ERROR"]
    assert any(r["level"] == "WARNING" for r in records)  # redis's own "#" lines


NATIVE_APP = """
import structlog
from loguru import logger
from sealog.integrations import SealogRenderer, loguru_sink

structlog.configure(processors=[
    structlog.processors.add_log_level,
    structlog.dev.set_exc_info,
    SealogRenderer(),
])
logger.remove()
logger.add(loguru_sink, level="DEBUG")

def settle(batch):
    raise RuntimeError(f"batch {batch} rejected")

structlog.get_logger().bind(logger="ledger").warning("slow", ms=900, password="hunter2")
try:
    settle(7)
except RuntimeError:
    structlog.get_logger().exception("settle failed")
logger.bind(order=17, token="tok_live_abc").error("charge failed")
"""


def test_structlog_and_loguru_hand_records_over_natively_under_run(
    tmp_path: Path, keys: Keys
) -> None:
    app = tmp_path / "native.py"
    app.write_text(NATIVE_APP)
    store = run(tmp_path, keys.pub, "testing", sys.executable, app)
    records = [r for r in owner_records(store, keys.key) if r["source"] == "workload"]
    assert "hunter2" not in json.dumps(records)
    assert "tok_live_abc" not in json.dumps(records)
    slow, failed, charge = records
    assert (slow["logger"], slow["level"], slow["fields"]["ms"]) == ("ledger", "WARNING", 900)
    assert failed["level"] == "ERROR"
    assert failed["exception"]["frames"][-1][2:] == [
        "settle",
        'raise RuntimeError(f"batch {batch} rejected")',
    ]
    assert (charge["logger"], charge["level"], charge["fields"]["order"]) == (
        "__main__",
        "ERROR",
        17,
    )
    assert not any(r["logger"] in ("stdout", "stderr") for r in records)  # nothing printed


def test_development_shows_a_printed_traceback_whole_with_its_frames(
    tmp_path: Path, keys: Keys
) -> None:
    fail = tmp_path / "fail.py"
    fail.write_text('def load(p):\n    raise KeyError(p)\n\nload("visible")\n')
    done = sealog(
        "run", "--owner", keys.pub, "--profile", "development", "--store", tmp_path / "st",
        "--", "bash", "-c", f"echo 'ERROR: shown in clear'; python3 -I {fail}",
    )  # fmt: skip
    assert "ERROR: shown in clear" in done.stdout
    assert f'  File "{fail}", line 2, in load' in done.stderr  # printed there, shown there
    assert "KeyError: 'visible'" in done.stderr
