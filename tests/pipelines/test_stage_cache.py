"""The stage cache: shared stages trained once, safe under concurrent runs and kills, listed and pruned by the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tiny import WORDS, make_tiny_model_dir, write_pawsx_layout
from typer.testing import CliRunner

from crossling.cli.main import app
from crossling.config import build_config
from crossling.pipelines import stages as stage_cache
from crossling.pipelines.experiment import plan_stages, run_directory, run_experiment
from crossling.pipelines.stages import is_complete, list_stages, partial_dir
from crossling.pipelines.sweep import run_sweep
from crossling.training import loop
from crossling.utils.paths import stages_dir

runner = CliRunner()


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path]:
    """Toy PAWS-X data (small) and a tiny BERT."""
    root = tmp_path_factory.mktemp("stages")
    data = write_pawsx_layout(root / "data", train=64, dev=16, test=16)
    model = make_tiny_model_dir(root / "model", [" ".join(words) for words in WORDS.values()] * 10)
    return data, model


def _task(data: Path, **extra) -> dict:
    return {"name": "pawsx", "source": "local", "data_dir": str(data), "eval_languages": ["en"], **extra}


def _base(toy, out: Path, name: str = "study") -> dict:
    data, model = toy
    return {
        "name": name,
        "output_dir": str(out),
        "seed": 1,
        "model": {"name_or_path": str(model)},
        "task": _task(data),
        "training": {"max_steps": 2, "batch_size": 16, "mixed_precision": "no"},
        "evaluation": {"batch_size": 32},
    }


def _study(toy, out: Path) -> dict:
    """2 intermediate setups x 2 targets x 2 seeds = 8 runs."""
    data, _ = toy
    intermediate = {
        f"inter-{lr}": {
            "intermediate": [
                {
                    "task": _task(data),
                    "training": {"max_steps": 2, "batch_size": 16, "learning_rate": lr, "mixed_precision": "no"},
                }
            ]
        }
        for lr in (1e-3, 3e-3)
    }
    return {**_base(toy, out), "variants": intermediate, "sweep": {"seed": [1, 2], "task.max_train_examples": [32, 48]}}


def _count_training(monkeypatch) -> list[int]:
    """Count stages that really train (an accelerator is made only then; a cached stage is loaded)."""
    calls: list[int] = []
    original = loop.make_accelerator
    monkeypatch.setattr(loop, "make_accelerator", lambda *a, **k: calls.append(1) or original(*a, **k))
    return calls


def test_a_study_trains_each_intermediate_stage_once_and_a_rerun_trains_nothing(toy, tmp_path, monkeypatch):
    trained = _count_training(monkeypatch)
    results = run_sweep(build_config(_study(toy, tmp_path / "runs")), show_progress=False)
    assert len(results) == 8
    cached = list_stages()
    intermediate = [e for e in cached if stage_cache.read_key(e.directory)["upstream"] is None]
    assert len(intermediate) == 4 and all(e.complete for e in cached)
    assert len(cached) == 4 + 8  # one target stage per run
    assert len(trained) == 12
    # Each intermediate stage is used by the two runs that differ only in their target.
    assert sorted(len(e.runs) for e in intermediate) == [2, 2, 2, 2]

    # --force re-evaluates every run: each stage comes from the cache.
    rerun = run_sweep(build_config(_study(toy, tmp_path / "runs")), show_progress=False, force=True)
    assert len(trained) == 12, "a rerun trained a stage again"
    assert len(list_stages()) == 12
    assert {k: v["summary"] for k, v in rerun.items()} == {k: v["summary"] for k, v in results.items()}


def test_an_evaluation_setting_does_not_change_the_stage_id(toy, tmp_path):
    config = build_config(_base(toy, tmp_path))
    other = build_config({**_base(toy, tmp_path), "task": _task(toy[0], eval_languages=["en", "de"])})
    longer = build_config({**_base(toy, tmp_path), "training": {"max_steps": 3, "batch_size": 16}})
    ids = [plan_stages(c, run_directory(c))[0].id for c in (config, other, longer)]
    assert ids[0] == ids[1] and ids[0] != ids[2]


def test_an_incomplete_published_stage_is_trained_again_not_loaded(toy, tmp_path, monkeypatch):
    config = build_config(_base(toy, tmp_path))
    (stage,) = plan_stages(config, run_directory(config))
    stage.directory.mkdir(parents=True)
    (stage.directory / "stage.json").write_text("{}")  # weights missing: half of a stage
    trained = _count_training(monkeypatch)
    run_experiment(config, show_progress=False)
    assert trained == [1] and is_complete(stage.directory)


def test_an_interrupted_stage_stays_unpublished_and_resumes_from_its_checkpoints(toy, tmp_path, monkeypatch):
    config = build_config(
        {
            **_base(toy, tmp_path),
            "training": {"max_steps": 6, "batch_size": 16, "checkpoint_every_steps": 2, "mixed_precision": "no"},
        }
    )
    with pytest.raises(KeyboardInterrupt):
        run_experiment(config, show_progress=False, stop_after_steps=4)
    (stage,) = plan_stages(config, run_directory(config))
    assert not stage.directory.exists()
    assert [(e.id, e.complete) for e in list_stages()] == [(stage.id, False)]
    assert list((partial_dir(stage.id) / "checkpoints").iterdir())
    loaded = []
    original = loop.load_checkpoint
    monkeypatch.setattr(loop, "load_checkpoint", lambda path, **kw: loaded.append(path) or original(path, **kw))
    results = run_experiment(config, show_progress=False)
    assert loaded and results["stages"][0]["global_steps"] == 6
    assert is_complete(stage.directory) and not partial_dir(stage.id).exists()


def test_two_processes_sharing_a_stage_train_it_once(toy, tmp_path):
    paths = []
    for name in ("first", "second"):
        paths.append(tmp_path / f"{name}.yaml")
        paths[-1].write_text(yaml.safe_dump(_base(toy, tmp_path / "runs", name=name)))
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "crossling", "run", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "COLUMNS": "400"},
        )
        for path in paths
    ]
    outputs = [process.communicate(timeout=600)[0] for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert sum("already finished, loaded" in out for out in outputs) == 1, outputs
    (entry,) = list_stages()
    assert entry.complete and sorted(Path(r).name for r in entry.runs) == ["first", "second"]


def test_cache_list_shows_stages_and_prune_frees_what_is_asked(toy, tmp_path):
    config = build_config(_base(toy, tmp_path / "runs"))
    run_experiment(config, show_progress=False)
    (stage,) = plan_stages(config, run_directory(config))
    (entry,) = list_stages()
    assert (entry.id, entry.task, entry.runs) == (stage.id, "pawsx", [str(run_directory(config).resolve())])
    listed = runner.invoke(app, ["cache", "list"])
    assert listed.exit_code == 0, listed.output
    assert stage.id[:12] in listed.output and "pawsx" in listed.output and "1 stage(s)" in listed.output

    assert "0.0 MiB" in runner.invoke(app, ["cache", "prune", "--unreferenced"]).output
    assert is_complete(stage.directory), "a stage a run points at was pruned as unreferenced"
    shutil.rmtree(run_directory(config))
    dry = runner.invoke(app, ["cache", "prune", "--unreferenced", "--dry-run"])
    assert f"would remove {stage.id[:12]}" in dry.output and is_complete(stage.directory)
    pruned = runner.invoke(app, ["cache", "prune", "--unreferenced"])
    assert f"removed {stage.id[:12]}" in pruned.output
    # Only the empty lock file stays: deleting a lock file others may wait on would let two processes hold it.
    left = [p.name for p in stages_dir().glob(f"*{stage.id}*")]
    assert not stage.directory.exists() and left == [f".{stage.id}.lock"], left

    nothing = runner.invoke(app, ["cache", "prune"])
    assert nothing.exit_code == 2 and nothing.output.startswith("error:") and "--older-than" in nothing.output


def test_prune_older_than_keeps_recent_stages_and_all_removes_every_one(toy, tmp_path):
    run_experiment(build_config(_base(toy, tmp_path / "runs")), show_progress=False)
    assert "would free 0.0 MiB" in runner.invoke(app, ["cache", "prune", "--older-than", "1", "--dry-run"]).output
    assert runner.invoke(app, ["cache", "prune", "--all"]).exit_code == 0
    assert list_stages() == []
