"""Usage mistakes on any subcommand are one line and exit 2, like every other bad input."""

from __future__ import annotations

import pytest
from clihelp import sealog


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["verify", "store"], "Missing option '--key'"),
        (["read", "store", "--key", "k", "--bogus"], "No such option '--bogus'"),
        (["no-such-command"], "No such command 'no-such-command'"),
        (["run", "--attest", "sgx1", "--owner", "x", "--", "true"], "Invalid value for '--attest'"),
        (["diff", "a"], "Missing argument 'B'"),
    ],
)
def test_usage_error_is_one_line_and_exit_2(args: list[str], expected: str) -> None:
    done = sealog(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert expected in lines[0]
    assert lines[0].startswith("sealog: error: ")


def test_help_and_version_still_exit_0() -> None:
    assert sealog("--version").returncode == 0
    done = sealog("verify", "--help")
    assert done.returncode == 0
    assert "--require-tee" in done.stdout
