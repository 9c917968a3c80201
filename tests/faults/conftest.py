"""Fault-injection fixtures: a tiny BERT, toy pair data, and configs written as YAML for `crossling run`."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from faultkit import base_config, write_yaml
from tiny import write_pawsx_layout


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread here and in child runs: tiny models on shared CPUs run ~10x faster, and alike."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def pair_data(tmp_path_factory) -> Path:
    """Toy PAWS-X files in XTREME's layout: en train/dev/test, de test (small: fast runs)."""
    return write_pawsx_layout(tmp_path_factory.mktemp("faults-data") / "pawsx", train=160, dev=32, test=40)


@pytest.fixture
def make_config(tiny_model, pair_data, tmp_path) -> Callable[..., Path]:
    """``make_config(**sections)`` -> a YAML config for `crossling run` under this test's tmp_path."""

    def make(**sections: Any) -> Path:
        return write_yaml(tmp_path / "config.yaml", base_config(tiny_model, pair_data, tmp_path / "runs", **sections))

    return make


@pytest.fixture
def data_copy(pair_data, tmp_path) -> Path:
    """A private copy of the toy data that a test may damage."""
    return Path(shutil.copytree(pair_data, tmp_path / "data"))
