"""Shared fixtures: the real data samples in ../shared/data (skipped where absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CROSSLING_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; the test is skipped with a reason if it is not beside the clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data samples not found at {SHARED_DATA} (a clone without ../shared)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_crossling_home(tmp_path_factory, monkeypatch):
    """Keep feature caches of tests out of the user's cache (converted models are shared)."""
    home = os.environ.get("CROSSLING_TEST_HOME")
    if home is None:
        home = str(tmp_path_factory.getbasetemp() / "crossling-home")
    monkeypatch.setenv("CROSSLING_HOME", home)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
