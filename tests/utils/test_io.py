"""Atomic writes: the files they publish have the mode a plain open() would give them (group-readable results)."""

from __future__ import annotations

import os
import stat

import pytest
import torch
from safetensors.torch import save_file

from crossling.utils.io import atomic_directory, atomic_path, atomic_write_json


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o007], ids=["umask-022", "umask-007"])
def test_atomic_writes_respect_the_umask_like_a_plain_open(tmp_path, umask):
    previous = os.umask(umask)
    try:
        atomic_write_json(tmp_path / "results.json", {"a": 1})
        with atomic_path(tmp_path / "model.safetensors") as tmp:
            save_file({"w": torch.zeros(2)}, str(tmp))  # safetensors itself creates 0600 files
        with atomic_directory(tmp_path / "checkpoint") as tmp:
            (tmp / "sub").mkdir()
            save_file({"w": torch.zeros(2)}, str(tmp / "sub" / "weights.safetensors"))
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
    finally:
        os.umask(previous)
    assert _mode(plain) == 0o666 & ~umask
    for path in ("results.json", "model.safetensors", "checkpoint/sub/weights.safetensors"):
        assert _mode(tmp_path / path) == 0o666 & ~umask, path
    for path in ("checkpoint", "checkpoint/sub"):
        assert _mode(tmp_path / path) == 0o777 & ~umask, path
