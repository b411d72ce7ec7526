"""The owner choosing what to read, in-process: ``sealog read`` with selections across sessions
and Keeps, ``verify`` of a live session, ``host-view`` piped, and the small usability promises."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from clihelp import SEALOG

from sealog.cli import main
from sealog.seal._keys import generate_owner_key, write_key_pair
from sealog.seal._records import ExceptionInfo
from stores import T0, at, write_session


def cli(*args: object, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env, prog_name="sealog")


def iso(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(T0 + seconds, UTC).isoformat()


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[Path, Path]:
    """A store with two Keeps: "alpha" (two sessions, a restart) and "beta"; (store, key)."""
    key = generate_owner_key()
    key_path, _ = write_key_pair(key, tmp_path / "owner")
    store = tmp_path / "store"
    boom = ExceptionInfo("KeyError", "'card'", (("pay.py", 7, "charge", None),))
    write_session(
        store,
        key,
        [
            at(0, "alpha starting", logger="app"),
            at(2, "db connected", logger="app.db", level=10),
            at(4, "slow query", logger="app.db", level=30),
        ],
        keep="alpha",
    )
    write_session(
        store,
        key,
        [
            at(1, "beta starting", logger="svc"),
            at(3, "payment failed", logger="svc.pay", level=40, exception=boom),
            at(5, "runtime note", logger="sealog.trace", source="runtime"),
        ],
        keep="beta",
    )
    write_session(
        store,
        key,
        [at(10, "alpha restarted", logger="app"), at(11, "giving up", logger="app", level=50)],
        keep="alpha",
    )
    return store, key_path


def messages(result: Result) -> list[str]:
    return [json.loads(line)["message"] for line in result.stdout.splitlines()]


def test_sessions_of_several_keeps_are_merged_by_time_with_keep_and_session(
    fleet: tuple[Path, Path],
) -> None:
    store, key = fleet
    done = cli("read", store, "--key", key, "--json", "--source", "workload")
    assert done.exit_code == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["message"] for r in rows] == [
        "alpha starting",
        "beta starting",
        "db connected",
        "payment failed",
        "slow query",
        "alpha restarted",
        "giving up",
    ]
    assert [r["keep"] for r in rows] == [
        "alpha",
        "beta",
        "alpha",
        "beta",
        "alpha",
        "alpha",
        "alpha",
    ]
    assert len({r["session"] for r in rows}) == 3
    assert rows[3]["exception"]["type"] == "KeyError"


def test_no_merge_prints_the_sessions_one_after_the_other(fleet: tuple[Path, Path]) -> None:
    store, key = fleet
    done = cli("read", store, "--key", key, "--json", "--source", "workload", "--no-merge")
    assert done.exit_code == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    sessions = [r["session"] for r in rows]
    assert sessions == sorted(sessions, key=sessions.index)  # each session's rows together
    assert len(set(sessions)) == 3
    for sid in set(sessions):
        times = [r["time"] for r in rows if r["session"] == sid]
        assert times == sorted(times)


def test_text_output_has_keep_and_session_columns_and_the_traceback(
    fleet: tuple[Path, Path],
) -> None:
    store, key = fleet
    done = cli("read", store, "--key", key, "--source", "workload")
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.splitlines()
    first = lines[0].split()
    assert first[2] == "alpha"  # date, time, keep, session, level
    assert len(first[3]) == 8
    assert first[4] == "INFO"
    failed = next(i for i, line in enumerate(lines) if "payment failed" in line)
    assert " beta " in lines[failed]
    assert lines[failed + 1] == "Traceback (most recent call last):"
    assert lines[failed + 2] == '  File "pay.py", line 7, in charge'
    assert lines[failed + 3] == "KeyError: 'card'"
    assert "\x1b[" not in done.stdout  # not a terminal: no colour


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("warn", ["payment failed", "slow query", "giving up"]),
        ("WARNING", ["payment failed", "slow query", "giving up"]),
        ("Error", ["payment failed", "giving up"]),
        ("fatal", ["giving up"]),
        ("critical", ["giving up"]),
    ],
)
def test_level_names_in_any_case_and_their_aliases_select(
    fleet: tuple[Path, Path], level: str, expected: list[str]
) -> None:
    store, key = fleet
    done = cli("read", store, "--key", key, "--json", "--level", level)
    assert done.exit_code == 0, done.stderr
    assert messages(done) == expected


def test_since_and_until_take_iso_times_and_keep_the_window(fleet: tuple[Path, Path]) -> None:
    store, key = fleet
    done = cli("read", store, "--key", key, "--json", "--since", iso(2), "--until", iso(5))
    assert done.exit_code == 0, done.stderr
    assert messages(done) == ["db connected", "payment failed", "slow query"]


def test_since_a_relative_time_leaves_out_old_records(fleet: tuple[Path, Path]) -> None:
    store, key = fleet
    done = cli("read", store, "--key", key, "--json", "--since", "10m")
    assert done.exit_code == 0, done.stderr
    # The records were logged long ago; only the closing records are from now.
    assert set(messages(done)) == {"session closed"}


def test_logger_selects_a_logger_and_its_children_only(fleet: tuple[Path, Path]) -> None:
    store, key = fleet
    done = cli("read", store, "--key", key, "--json", "--logger", "app.db", "--logger", "svc")
    assert done.exit_code == 0, done.stderr
    assert messages(done) == ["beta starting", "db connected", "payment failed", "slow query"]


def test_grep_searches_messages_and_tracebacks(fleet: tuple[Path, Path]) -> None:
    store, key = fleet
    by_message = cli("read", store, "--key", key, "--json", "--grep", "start(ing|ed)")
    assert messages(by_message) == ["alpha starting", "beta starting", "alpha restarted"]
    in_traceback = cli("read", store, "--key", key, "--json", "--grep", r"in charge")
    assert messages(in_traceback) == ["payment failed"]


def test_source_and_keep_select(fleet: tuple[Path, Path]) -> None:
    store, key = fleet
    runtime = cli("read", store, "--key", key, "--json", "--source", "runtime")
    assert messages(runtime) == ["runtime note"]
    alpha = cli("read", store, "--key", key, "--json", "--keep", "alp", "--source", "workload")
    assert messages(alpha) == [
        "alpha starting",
        "db connected",
        "slow query",
        "alpha restarted",
        "giving up",
    ]


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--level", "loud", "unknown level 'loud'"),
        ("--since", "yesterday-ish", "not a time"),
        ("--grep", "(unclosed", "not a regular expression"),
    ],
)
def test_a_selection_that_does_not_parse_is_one_line_and_exit_2(
    fleet: tuple[Path, Path], option: str, value: str, says: str
) -> None:
    store, key = fleet
    done = cli("read", store, "--key", key, option, value)
    assert done.exit_code == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert says in line


def test_the_key_can_come_from_the_environment(fleet: tuple[Path, Path]) -> None:
    store, key = fleet
    done = cli("read", store, "--json", "--level", "fatal", env={"SEALOG_KEY": str(key)})
    assert done.exit_code == 0, done.stderr
    assert messages(done) == ["giving up"]


def test_bare_sealog_prints_its_help_not_an_error() -> None:
    done = cli()
    assert done.exit_code == 0
    assert done.stdout.startswith("Usage: sealog")
    assert "sealog: error" not in done.stdout + done.stderr


def test_shell_completion_completes_commands_and_options() -> None:
    env = {"_SEALOG_COMPLETE": "bash_complete", "COMP_WORDS": "sealog ve", "COMP_CWORD": "1"}
    assert cli(env=env).stdout.splitlines() == ["plain,verify"]
    env |= {"COMP_WORDS": "sealog read store --gr", "COMP_CWORD": "3"}
    assert cli(env=env).stdout.splitlines() == ["plain,--grep"]


# -- live sessions ---------------------------------------------------------------------------


def test_a_session_still_being_written_is_open_not_truncated(tmp_path: Path) -> None:
    key = generate_owner_key()
    key_path, _ = write_key_pair(key, tmp_path / "owner")
    store = tmp_path / "store"
    _, running = write_session(store, key, [at(i, f"tick {i}") for i in range(7)], close=False)
    try:
        done = cli("verify", store, "--key", key_path, "--json")
        assert done.exit_code == 3, done.stdout + done.stderr
        (verdict,) = [json.loads(line) for line in done.stdout.splitlines()]
        assert verdict["status"] == "open"
        assert verdict["ok"] is False
        read = cli("read", store, "--key", key_path, "--json")
        assert read.exit_code == 0
        assert messages(read) == [f"tick {i}" for i in range(7)]
        assert "OPEN" in read.stderr
    finally:
        running.close()  # the Keep dies without its closing frame
    done = cli("verify", store, "--key", key_path)
    assert done.exit_code == 1
    assert "TRUNCATED" in done.stdout


def test_an_open_session_does_not_hide_a_failed_one(tmp_path: Path) -> None:
    key = generate_owner_key()
    key_path, _ = write_key_pair(key, tmp_path / "owner")
    store = tmp_path / "store"
    _, dead = write_session(store, key, [at(0, "a"), at(1, "b"), at(2, "c")], close=False)
    dead.close()
    _, running = write_session(store, key, [at(0, "x"), at(1, "y"), at(2, "z")], close=False)
    try:
        done = cli("verify", store, "--key", key_path, "--json")
        statuses = sorted(json.loads(line)["status"] for line in done.stdout.splitlines())
        assert statuses == ["open", "truncated"]
        assert done.exit_code == 1
    finally:
        running.close()


# -- host-view ---------------------------------------------------------------------------------


def test_host_view_piped_keeps_the_whole_profile_digest_and_json_is_one_line_each(
    fleet: tuple[Path, Path],
) -> None:
    store, _ = fleet
    text = cli("host-view", store)
    assert text.exit_code == 0
    lines = [json.loads(line) for line in cli("host-view", store, "--json").stdout.splitlines()]
    assert len(lines) == 3
    for view in lines:
        digest = view["header"]["launch"]["profile_digest"]
        assert len(digest) == 64
        assert digest in text.stdout


# -- pipes -------------------------------------------------------------------------------------


def test_read_into_a_pipe_closed_early_exits_quietly(tmp_path: Path) -> None:
    key = generate_owner_key()
    key_path, _ = write_key_pair(key, tmp_path / "owner")
    store = tmp_path / "store"
    write_session(store, key, [at(i, "x" * 200) for i in range(3000)], per_frame=100)
    reader = subprocess.Popen(
        [*SEALOG, "read", str(store), "--key", str(key_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None
    assert reader.stderr is not None
    assert reader.stdout.readline()  # like `head -1`: one line, then the pipe is closed
    reader.stdout.close()
    err = reader.stderr.read()
    assert reader.wait(timeout=30) == 0
    assert err == b""


# -- diff at scale ---------------------------------------------------------------------------


def test_diff_prints_at_most_max_differences_and_a_summary_of_counts(tmp_path: Path) -> None:
    key = generate_owner_key()
    key_path, _ = write_key_pair(key, tmp_path / "owner")
    short, long = tmp_path / "short", tmp_path / "long"
    write_session(short, key, [at(i, f"step {i}") for i in range(5)])
    write_session(long, key, [at(i, f"step {i}") for i in range(40)], per_frame=10)
    done = cli("diff", short, long, "--key", key_path, "--max", "3")
    assert done.exit_code == 1, done.stderr
    lines = done.stdout.splitlines()
    assert "only in B (35, first 3 shown):" in lines
    assert lines[-1] == (
        "6 records in A, 41 in B: 0 only in A, 35 only in B, 0 fingerprint items differ"
    )
    assert done.stderr == ""  # not a terminal: no progress bar
    js = cli("diff", short, long, "--key", key_path, "--max", "3", "--json")
    head, *rest = (json.loads(line) for line in js.stdout.splitlines())
    assert head["counts"] == {"records_a": 6, "records_b": 41, "only_a": 0, "only_b": 35}
    assert [r["message"] for r in rest] == ["step 5", "step 6", "step 7"]
    assert {r["only"] for r in rest} == {"b"}


def test_verify_piped_prints_verdicts_only(fleet: tuple[Path, Path]) -> None:
    store, key = fleet
    done = cli("verify", store, "--key", key)
    assert done.exit_code == 0
    assert done.stderr == ""
    assert [line.split()[1] for line in done.stdout.splitlines()] == ["INTACT:"] * 3


def test_a_logged_newline_or_escape_cannot_forge_a_line_on_the_owners_terminal(
    tmp_path: Path,
) -> None:
    key = generate_owner_key()
    key_path, _ = write_key_pair(key, tmp_path / "owner")
    store = tmp_path / "store"
    forged = "paid\n2026-05-01 10:00:09.000 INFO     workload:app refund approved\x1b[2J"
    write_session(store, key, [at(0, forged, logger="app\x1b[31m")])
    done = cli("read", store, "--key", key_path, "--source", "workload")
    assert done.exit_code == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert "\x1b" not in done.stdout
    assert "paid\\n2026-05-01" in line
    assert line.endswith("refund approved\\x1b[2J")
