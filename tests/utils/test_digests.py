"""Digests of large files are computed once per file version and remembered in the user cache."""

from __future__ import annotations

import hashlib
import os

from crossling.utils import digests


def test_a_files_digest_is_computed_once_and_again_when_the_file_changes(tmp_path, monkeypatch):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"weights v1")
    calls = []
    real = digests.sha256_file
    monkeypatch.setattr(digests, "sha256_file", lambda path: calls.append(path) or real(path))

    assert digests.cached_sha256(weights) == hashlib.sha256(b"weights v1").hexdigest()
    assert digests.cached_sha256(weights) == hashlib.sha256(b"weights v1").hexdigest()
    assert len(calls) == 1  # the second run read the remembered digest

    weights.write_bytes(b"weights v2, longer")
    os.utime(weights, ns=(1, 1))
    assert digests.cached_sha256(weights) == hashlib.sha256(b"weights v2, longer").hexdigest()
    assert len(calls) == 2
