"""Running ``sealog`` in this process, with a deadline: a command that hangs fails the test."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result

from sealog.cli import main


@dataclass(frozen=True)
class Outcome:
    """What one command did."""

    code: int
    stdout: str
    stderr: str
    exception: BaseException | None


def cli(*args: str | Path, deadline: float = 20.0) -> Outcome:
    """Run ``sealog ARGS`` in-process; fail if it has not returned within ``deadline`` s."""
    box: dict[str, Result] = {}

    def go() -> None:
        box["result"] = CliRunner().invoke(main, [str(a) for a in args])

    worker = threading.Thread(target=go, daemon=True)
    worker.start()
    worker.join(deadline)
    assert not worker.is_alive(), f"sealog {' '.join(map(str, args))} hung"
    result = box["result"]
    exc = result.exception if not isinstance(result.exception, SystemExit) else None
    return Outcome(result.exit_code, result.stdout, result.stderr, exc)


def assert_one_line_refusal(done: Outcome, *, code: int = 2, says: str = "") -> None:
    """The command gave up with one clean line on stderr (no traceback, nothing raw)."""
    assert done.exception is None, repr(done.exception)
    assert done.code == code, (done.code, done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("sealog: error: "), lines[0]
    assert "\x1b" not in done.stderr
    assert says in lines[0], lines[0]
