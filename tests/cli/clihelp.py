"""Running the ``sealog`` command in tests.

:func:`sealog` runs the real click entry point in this process (starting an interpreter per
command made the suite four times slower); :func:`sealog_subprocess` runs ``python -m sealog``
for the end-to-end tests that need a separate process (signals, a second reader).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from sealog.cli import main
from sealog.profile import builtin_text

SEALOG = [sys.executable, "-m", "sealog"]


@contextlib.contextmanager
def _working_folder(cwd: str | Path | None) -> Iterator[None]:
    if cwd is None:
        yield
        return
    before = os.getcwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)


def sealog(
    *args: str | Path,
    cwd: str | Path | None = None,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``sealog ARGS`` in-process through the click entry point, capturing text output.

    An exception escaping the command (a traceback a user would see) fails the test. A
    command given its own environment runs in a new process (the environment is the process's).
    """
    if env is not None:
        return sealog_subprocess(*args, cwd=cwd, input=input, env=env)
    argv = [str(a) for a in args]
    with _working_folder(cwd):
        result = CliRunner().invoke(main, argv, input=input, catch_exceptions=False)
    return subprocess.CompletedProcess(
        ["sealog", *argv], result.exit_code, result.stdout, result.stderr
    )


def sealog_subprocess(
    *args: str | Path, timeout: float = 60, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sealog ARGS`` to completion in a new process, capturing text output."""
    return subprocess.run(
        [*SEALOG, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kw,
    )


def fast_profile(folder: Path, name: str, interval: float = 0.05) -> Path:
    """A built-in profile with a short flush interval, written to ``folder`` (tests run fast)."""
    text = builtin_text(name)
    lines = []
    for line in text.splitlines():
        fast = line.strip().startswith("flush_interval")
        lines.append(f"flush_interval = {interval}" if fast else line)
    path = folder / f"{name}-fast.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def host_events(stderr: str) -> list[dict[str, Any]]:
    """The host-channel events on ``sealog run``'s stderr (every line must be one)."""
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]
