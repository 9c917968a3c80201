"""Saved logits: ragged rows round-trip through one safetensors file; a missing file says how to make it."""

from __future__ import annotations

import numpy as np
import pytest

from crossling.errors import DataError
from crossling.evaluation.logits import read_logits, write_logits


def test_logits_files_round_trip_ragged_rows(tmp_path):
    flat = [np.array([1.0, -2.0, 0.5]), np.array([0.0, 3.0, 1.0])]
    tokens = [np.arange(6, dtype=np.float32).reshape(3, 2), np.ones((1, 2), dtype=np.float32)]
    for rows in (flat, tokens):
        write_logits(tmp_path / "x.safetensors", rows)
        back = read_logits(tmp_path / "x.safetensors")
        assert [r.shape for r in back] == [r.shape for r in rows]
        for a, b in zip(back, rows, strict=True):
            np.testing.assert_allclose(a, b)
    with pytest.raises(DataError, match="--save-logits"):
        read_logits(tmp_path / "missing.safetensors")
