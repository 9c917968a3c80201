"""Crash safety: SIGKILL mid-training resumes to the same results; finished runs are kept; damage is detected."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import base_config, comparable, invoke_run, predictions, write_yaml

from crossling.config import load_config
from crossling.config.schema import ExperimentConfig
from crossling.data.features import load_features
from crossling.models.encoder import load_tokenizer
from crossling.pipelines import experiment
from crossling.pipelines.experiment import plan_stages, run_directory, run_experiment
from crossling.pipelines.stages import partial_dir
from crossling.tasks.loading import TaskData
from crossling.training import loop
from crossling.training.checkpoint import latest_valid_checkpoint, list_checkpoints
from crossling.utils.io import atomic_write_json
from crossling.utils.paths import features_dir

#: Four epochs of ten steps, a checkpoint every two: long enough to be killed in the middle.
TRAINING = {"epochs": 4, "checkpoint_every_steps": 2}


def stage_dir(config: Path | ExperimentConfig) -> Path:
    """Where the (only) training stage of a pawsx run trains: its directory in the stage cache until published."""
    config = load_config(config) if isinstance(config, Path) else config
    return partial_dir(plan_stages(config, run_directory(config))[0].id)


@pytest.fixture(scope="module")
def reference(tiny_model, pair_data, tmp_path_factory) -> tuple[dict, dict[str, str]]:
    """Results and predictions of an uninterrupted run of the crash-test config."""
    out = tmp_path_factory.mktemp("reference")
    path = write_yaml(out / "config.yaml", base_config(tiny_model, pair_data, out / "runs", training=TRAINING))
    results = run_experiment(load_config(path), show_progress=False)
    return comparable(results), predictions(out / "runs" / "fault")


@pytest.fixture
def crash_config(tiny_model, pair_data, tmp_path) -> Path:
    """The crash-test config, writing its run under this test's tmp_path."""
    config = base_config(tiny_model, pair_data, tmp_path / "runs", training=TRAINING)
    return write_yaml(tmp_path / "config.yaml", config)


def kill_when_checkpointed(config: Path, checkpoints: Path, *, min_step: int = 4, timeout: float = 240.0) -> int:
    """Start `python -m crossling run CONFIG`, SIGKILL it once a checkpoint of ``min_step`` or later exists.

    Returns the step of the newest checkpoint at the moment of the kill.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "crossling", "run", str(config), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            done = list_checkpoints(checkpoints)
            if done and int(done[-1].name.split("-")[-1]) >= min_step:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
                return int(done[-1].name.split("-")[-1])
            if process.poll() is not None:
                pytest.fail(
                    f"the run ended (rc {process.returncode}) before it could be killed: "
                    f"{process.stderr.read().decode()[-2000:]}"
                )
            time.sleep(0.005)
        pytest.fail(f"no checkpoint of step >= {min_step} within {timeout} s")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()


def test_sigkill_mid_training_resumes_to_the_same_results_and_predictions(crash_config, reference, monkeypatch):
    run_dir = crash_config.parent / "runs" / "fault"
    killed_at = kill_when_checkpointed(crash_config, stage_dir(crash_config) / "checkpoints")
    assert killed_at >= 4
    assert not (run_dir / "results.json").exists()
    assert not (stage_dir(crash_config) / "stage.json").exists()
    resume_from = latest_valid_checkpoint(stage_dir(crash_config) / "checkpoints")
    assert resume_from is not None, "the killed run left no intact checkpoint"

    loaded = []
    original = loop.load_checkpoint
    monkeypatch.setattr(loop, "load_checkpoint", lambda path, **kw: loaded.append(path) or original(path, **kw))
    result = invoke_run(crash_config)
    assert result.exit_code == 0, result.output
    assert loaded and loaded[0].name.startswith("checkpoint-"), "the rerun did not resume from the checkpoint"

    results = json.loads((run_dir / "results.json").read_text())
    expected_results, expected_predictions = reference
    assert comparable(results) == expected_results
    assert predictions(run_dir) == expected_predictions
    assert not (stage_dir(crash_config) / "checkpoints").exists()


def test_a_finished_run_is_not_redone(crash_config, monkeypatch):
    run_dir = crash_config.parent / "runs" / "fault"
    assert invoke_run(crash_config).exit_code == 0
    stamps = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file()}
    monkeypatch.setattr(experiment, "train_pipeline", lambda *a, **k: pytest.fail("a finished run was trained again"))
    result = invoke_run(crash_config)
    assert result.exit_code == 0, result.output
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file()} == stamps


def test_a_corrupt_checkpoint_is_detected_and_not_loaded(crash_config, reference, monkeypatch):
    config = load_config(crash_config)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(config, show_progress=False, stop_after_steps=6)
    checkpoint = latest_valid_checkpoint(stage_dir(config) / "checkpoints")
    assert checkpoint is not None
    weights = checkpoint / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-8:] = bytes(8 * [0x7F])  # damage the last tensor's bytes; the file still parses
    weights.write_bytes(bytes(data))
    assert latest_valid_checkpoint(checkpoint.parent) is None

    monkeypatch.setattr(loop, "load_checkpoint", lambda *a, **k: pytest.fail("a corrupt checkpoint was loaded"))
    results = run_experiment(config, show_progress=False)
    assert comparable(results) == reference[0]


def test_a_corrupt_feature_cache_entry_is_rebuilt_not_loaded(pair_data, tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSLING_HOME", str(tmp_path / "home"))
    config = load_config(
        write_yaml(pair_data.parent / "cache.yaml", base_config(tiny_model, pair_data, pair_data.parent / "runs"))
    )
    tokenizer = load_tokenizer(config.model)
    data = TaskData.from_config(config.task)
    calls = []

    def features():
        return load_features(
            data.spec,
            lambda: calls.append(1) or data.records("en", "dev"),
            language="en",
            split="dev",
            source_fingerprint="fault-cache-test",
            tokenizer=tokenizer,
            max_length=data.max_length,
        )

    first = features()[:]
    second = features()[:]
    assert len(calls) == 1 and second == first
    (entry,) = (features_dir() / "pawsx").iterdir()
    arrow = next(entry.glob("*.arrow"))
    arrow.write_bytes(arrow.read_bytes()[:-16] + bytes(16))
    assert features()[:] == first
    assert len(calls) == 2, "the damaged cache entry was loaded instead of rebuilt"


def test_feature_caches_hold_no_pickle(pair_data, tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSLING_HOME", str(tmp_path / "home"))
    config = load_config(
        write_yaml(pair_data.parent / "cache.yaml", base_config(tiny_model, pair_data, pair_data.parent / "runs"))
    )
    TaskData.from_config(config.task).features("en", "test", load_tokenizer(config.model))
    files = [p for p in features_dir().rglob("*") if p.is_file()]
    assert files and {p.suffix for p in files} <= {".arrow", ".json"}
    for path in files:
        assert not path.read_bytes().startswith(b"\x80"), f"{path} looks like a pickle"


def test_an_interrupted_write_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    target = tmp_path / "results.json"
    atomic_write_json(target, {"complete": True})

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed between the write and the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_json(target, {"complete": False, "half": "written"})
    assert json.loads(target.read_text()) == {"complete": True}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"], "the temporary file was left behind"


def test_a_run_directory_in_use_by_another_process_is_refused(tmp_path):
    """Two processes must never train into one run directory: the second gets a one-line error."""
    from crossling.config import build_config
    from crossling.errors import ConfigError
    from crossling.pipelines.experiment import run_experiment
    from crossling.utils.locks import exclusive_lock

    config = build_config({"name": "busy", "output_dir": str(tmp_path)})
    with (
        exclusive_lock(tmp_path / "busy" / ".lock"),
        pytest.raises(ConfigError, match="in use by another crossling process"),
    ):
        run_experiment(config, show_progress=False)
