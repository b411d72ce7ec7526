"""Fixtures for the viewer's tests: one store worth looking at, built once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from viewer_store import ViewerStore, build_viewer_store


@pytest.fixture(scope="session")
def viewer_store(tmp_path_factory: pytest.TempPathFactory) -> ViewerStore:
    """Three sessions (an incident window, a diverging twin, a real padded run) and the key."""
    return build_viewer_store(tmp_path_factory.mktemp("viewer"))
