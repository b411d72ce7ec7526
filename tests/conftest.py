"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Published evidence and vectors, read in place (never copied into the project).
SHARED_TESTDATA = ROOT.parent / "shared" / "testdata"


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    """The read-only folder of published test vectors beside the project."""
    if not SHARED_TESTDATA.is_dir():
        pytest.fail(f"published test data not found at {SHARED_TESTDATA}")
    return SHARED_TESTDATA
