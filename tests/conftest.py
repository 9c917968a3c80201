"""Shared fixtures: the real data samples in ../shared/data (skipped where absent), a per-test stage cache, a tiny model and toy PAWS-X data."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tiny import WORDS, make_tiny_model_dir, write_pawsx_layout

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CROSSLING_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
BENCH_DIR = REPO_ROOT / "bench"


@pytest.fixture(scope="module")
def bench_import() -> Iterator[Callable[[str], object]]:
    """``bench_import("records")``: a script module of bench/ (which imports its siblings by plain name), with
    bench/ on ``sys.path`` while the requesting test module runs."""
    sys.path.insert(0, str(BENCH_DIR))
    try:
        yield importlib.import_module
    finally:
        sys.path.remove(str(BENCH_DIR))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; the test is skipped with a reason if it is not beside the clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data samples not found at {SHARED_DATA} (a clone without ../shared)")
    return SHARED_DATA


@pytest.fixture(autouse=True, scope="session")
def _session_crossling_home(tmp_path_factory) -> Iterator[Path]:
    """One CROSSLING_HOME for the session (module fixtures that train run before per-test fixtures)."""
    home = Path(os.environ.get("CROSSLING_TEST_HOME") or tmp_path_factory.getbasetemp() / "crossling-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CROSSLING_HOME", str(home))
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("HF_DATASETS_OFFLINE", "1")
        yield home


@pytest.fixture(autouse=True)
def _isolated_crossling_home(request, _session_crossling_home, tmp_path_factory, monkeypatch):
    """Each test gets its own stage cache, so a test that trains a stage trains it; converted models and
    feature caches are shared by the session (they only save time).

    Tests marked ``session_stage_cache`` keep the session's cache: they use runs that a module
    fixture trained there (``crossling evaluate`` reads the run's stages from the cache).
    """
    if request.node.get_closest_marker("session_stage_cache"):
        return
    home = tmp_path_factory.mktemp("crossling-home")
    for shared in ("models", "features"):
        (_session_crossling_home / shared).mkdir(parents=True, exist_ok=True)
        (home / shared).symlink_to(_session_crossling_home / shared, target_is_directory=True)
    monkeypatch.setenv("CROSSLING_HOME", str(home))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny BERT (safetensors) with a WordPiece tokenizer that knows both toy vocabularies."""
    return make_tiny_model_dir(
        tmp_path_factory.mktemp("tiny-model") / "model", [" ".join(words) for words in WORDS.values()] * 10
    )


@pytest.fixture(scope="session")
def toy_pawsx(tmp_path_factory) -> Path:
    """Toy PAWS-X files in XTREME's layout: 96 English training pairs, 32 dev, 32 test pairs in en and de."""
    return write_pawsx_layout(tmp_path_factory.mktemp("toy-pawsx") / "pawsx", train=96, dev=32, test=32)
