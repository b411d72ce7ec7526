"""Fixtures for black-box command-line tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from clihelp import sealog


@pytest.fixture
def owner(tmp_path: Path) -> tuple[Path, Path]:
    """An owner key pair made by ``sealog keygen``: (private, public)."""
    done = sealog("keygen", tmp_path / "owner")
    assert done.returncode == 0, done.stderr
    return tmp_path / "owner.key", tmp_path / "owner.pub"
