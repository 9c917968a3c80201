"""Tests of crossling.utils.io: atomic writes keep the umask's mode (group-readable results); sha256_file."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest
import torch
from safetensors.torch import save_file

from crossling.utils.io import atomic_directory, atomic_path, atomic_write_json, sha256_file


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


def test_sha256_file_matches_the_published_test_vectors(tmp_path):
    # FIPS 180-2 test vectors: "abc" and the empty message.
    abc = tmp_path / "abc.txt"
    abc.write_bytes(b"abc")
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert sha256_file(abc) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_file(empty) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_sha256_file_reads_files_larger_than_one_chunk(tmp_path):
    payload = bytes(range(256)) * 20_000  # 5 MB: several of file_digest's read chunks
    path = tmp_path / "big.bin"
    path.write_bytes(payload)
    assert sha256_file(str(path)) == hashlib.sha256(payload).hexdigest()


def test_a_full_disk_while_safetensors_writes_is_an_oserror_naming_the_file(tmp_path, monkeypatch):
    import errno

    import torch
    from safetensors import SafetensorError

    from crossling.training import checkpoint

    def full_disk(*args, **kwargs):  # what safetensors raises when the write fails (seen on a full disk)
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(checkpoint, "save_file", full_disk)
    target = tmp_path / "stage" / "model.safetensors"
    with pytest.raises(OSError) as caught:
        checkpoint.save_model_weights(torch.nn.Linear(2, 2), target)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert "No space left on device" in str(caught.value) and not any(target.parent.iterdir())  # no temp file left
