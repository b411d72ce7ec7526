"""Running the real ``sealog`` command in tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sealog.profile import builtin_text

SEALOG = [sys.executable, "-m", "sealog"]


def sealog(*args: str | Path, timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run ``sealog ARGS`` to completion, capturing text output."""
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
