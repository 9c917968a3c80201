"""Faults of the machine, not of the input: read-only or full disks, files in the way, damaged files. One line each.

Environment faults exit with code 1, bad input with 2. A read-only or full directory is a
read-only tmpfs or a tiny one when the tests run as root (root writes through file modes),
and a directory without write permission otherwise.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultkit import assert_one_line_stderr, crossling, invoke_run

from crossling.pipelines.stages import partial_dir
from crossling.training import checkpoint as checkpoint_module
from crossling.training.checkpoint import list_checkpoints, verify_checkpoint


def _mount_tmpfs(path: Path, options: str) -> Iterator[Path]:
    """Mount a tmpfs with ``options`` at ``path`` for the test (root only), or skip saying why."""
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"running as root without permission to mount a tmpfs ({done.stderr.decode().strip()})")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


@pytest.fixture
def read_only_dir(tmp_path) -> Iterator[Path]:
    """A directory no file can be created in."""
    path = tmp_path / "read-only"
    path.mkdir()
    if os.geteuid() == 0:
        yield from _mount_tmpfs(path, "ro,size=64k")
        return
    path.chmod(0o555)
    yield path
    path.chmod(0o755)


@pytest.fixture
def full_dir(tmp_path) -> Iterator[Path]:
    """A 16 KiB file system: the first feature cache fills it (needs root to mount)."""
    path = tmp_path / "full"
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a full file system needs a tiny tmpfs, which only root can mount")
    yield from _mount_tmpfs(path, "size=16k")


def _run(config: Path, *args: str, env: dict[str, str] | None = None):
    return crossling("run", str(config), "--quiet", *args, env=env)


def test_an_output_dir_that_is_a_regular_file_is_one_line(make_config, tmp_path):
    (tmp_path / "runs").write_text("not a directory\n")
    assert_one_line_stderr(_run(make_config()), f"{tmp_path / 'runs'}: a regular file where output_dir", code=1)


def test_a_read_only_output_dir_is_one_line(make_config, read_only_dir):
    assert_one_line_stderr(
        _run(make_config(output_dir=str(read_only_dir / "runs"))), "output_dir (--output-dir) is not writable", code=1
    )


def test_a_read_only_crossling_home_is_one_line(make_config, read_only_dir):
    proc = _run(make_config(), env={"CROSSLING_HOME": str(read_only_dir / "home")})
    assert_one_line_stderr(proc, f"{read_only_dir / 'home'}: CROSSLING_HOME is not writable", code=1)


def test_a_full_crossling_home_is_one_line_naming_the_path(make_config, full_dir):
    proc = _run(make_config(), env={"CROSSLING_HOME": str(full_dir)})
    assert_one_line_stderr(proc, str(full_dir / "features"), "the disk is full", "CROSSLING_HOME", code=1)


def test_disk_full_during_a_checkpoint_is_one_line_and_keeps_the_last_checkpoint(make_config, monkeypatch):
    config = make_config(training={"epochs": 1, "checkpoint_every_steps": 2})
    real_save = checkpoint_module.save_file
    calls = {"n": 0}

    def save_until_full(tensors, filename, metadata=None):
        calls["n"] += 1
        if calls["n"] > 3:  # the first checkpoint's three files are written, the second's are not
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(tensors, filename, metadata=metadata)

    monkeypatch.setattr(checkpoint_module, "save_file", save_until_full)
    result = invoke_run(config)
    # The stage trains in the stage cache until it is complete (``<id>.partial``, named by the run's pointer).
    pointer = json.loads((config.parent / "runs" / "fault" / "stages" / "00-pawsx.json").read_text())
    stage = partial_dir(pointer["stage_id"]) / "checkpoints"
    assert result.exit_code == 1, result.output
    error = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert error and f"{stage}" in error[0] and "the disk is full" in error[0], result.output
    assert "Traceback" not in result.output
    kept = list_checkpoints(stage)
    assert [p.name for p in kept] == ["checkpoint-00000002"] and verify_checkpoint(kept[0])
    assert not [p for p in stage.iterdir() if p.name.startswith(".")]  # no half-written checkpoint left
    monkeypatch.setattr(checkpoint_module, "save_file", real_save)
    resumed = invoke_run(config)
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((config.parent / "runs" / "fault" / "results.json").read_text())["languages"]["de"]["count"] == 40


def test_a_truncated_safetensors_file_is_one_line(make_config, tiny_model, tmp_path):
    import shutil

    damaged = Path(shutil.copytree(tiny_model, tmp_path / "truncated"))
    weights = (damaged / "model.safetensors").read_bytes()
    (damaged / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    assert_one_line_stderr(
        _run(make_config(model={"name_or_path": str(damaged)})),
        "damaged safetensors weights",
        "copy or download the weights file again",
    )


def test_a_corrupt_results_json_in_report_is_one_line(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text('{"name": "x", "languages": {', encoding="utf-8")
    proc = crossling("report", str(run))
    assert_one_line_stderr(proc, f"{run / 'results.json'}: not valid JSON", "line 1")
