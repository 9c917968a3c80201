"""End-to-end: a tiny BERT fine-tuned on a learnable pair task, evaluated zero-shot, resumed after interruption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny import WORDS, make_tiny_model_dir, stage_weights, write_pawsx_layout

from crossling.config import build_config
from crossling.errors import ConfigError
from crossling.pipelines.experiment import plan_stages, run_experiment
from crossling.pipelines.stages import is_complete, partial_dir


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("toy")
    data = write_pawsx_layout(root / "data")
    model = make_tiny_model_dir(root / "model", [" ".join(words) for words in WORDS.values()] * 10)
    return data, model


def _config(toy, tmp_path: Path, strategy: str, **training):
    data, model = toy
    return build_config(
        {
            "name": f"toy-{strategy}",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(model)},
            "aggregation": {"strategy": strategy, **({"layer": 1} if strategy != "last" else {})},
            "task": {"name": "pawsx", "source": "local", "data_dir": str(data), "eval_languages": ["en", "de"]},
            "training": {
                "epochs": 5,
                "batch_size": 16,
                "learning_rate": 1e-3,
                "checkpoint_every_steps": 25,
                **training,
            },
        }
    )


@pytest.mark.parametrize("strategy", ["last", "dlfa"])
def test_pair_task_is_learned_and_every_language_is_reported(toy, tmp_path, strategy):
    config = _config(toy, tmp_path, strategy)
    results = run_experiment(config, show_progress=False)
    assert results["languages"]["en"]["accuracy"] >= 90.0
    assert set(results["languages"]) == {"en", "de"}
    assert results["languages"]["de"]["count"] == 100
    summary = results["summary"]
    assert summary["source"] == {"en": results["languages"]["en"]["accuracy"]}
    assert summary["avg_transfer"] == results["languages"]["de"]["accuracy"]
    assert summary["macro_avg"] == pytest.approx((results["languages"]["en"]["accuracy"] + summary["avg_transfer"]) / 2)
    assert results["selection"]["policy"] == "best-dev" and results["selection"]["dev_language"] == "en"

    run_dir = tmp_path / "runs" / f"toy-{strategy}"
    on_disk = json.loads((run_dir / "results.json").read_text())
    assert on_disk["languages"] == results["languages"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["seed"] == 42 and manifest["packages"]["torch"]
    choice = manifest["precision_choice"]  # training.mixed_precision: auto, resolved with its reason
    assert choice["setting"] == "auto" and choice["precision"] == manifest["mixed_precision"] and choice["reason"]
    assert any(key.startswith("pawsx/de/test") for key in manifest["data_fingerprints"])
    # Prediction files: one label per line, as many lines as test examples, the scored labels.
    lines = (run_dir / "predictions" / "pawsx" / "test-en.tsv").read_text().splitlines()
    gold = [row.split("\t")[2] for row in (toy[0] / "test-en.tsv").read_text().splitlines()]
    assert len(lines) == len(gold)
    assert (
        100 * sum(p == g for p, g in zip(lines, gold, strict=True)) / len(gold)
        == results["languages"]["en"]["accuracy"]
    )
    (stage,) = plan_stages(config, run_dir)
    assert is_complete(stage.directory) and not (stage.directory / "checkpoints").exists()
    assert json.loads((run_dir / "stages" / "00-pawsx.json").read_text())["stage_id"] == stage.id


def test_resume_after_interruption_gives_the_same_metrics(toy, tmp_path, monkeypatch):
    # Two stage caches: in one, the second run would reuse the first's stage instead of training it.
    monkeypatch.setenv("CROSSLING_HOME", str(tmp_path / "home-a"))
    uninterrupted = run_experiment(_config(toy, tmp_path / "a", "dlfa", epochs=3), show_progress=False)
    monkeypatch.setenv("CROSSLING_HOME", str(tmp_path / "home-b"))
    interrupted_config = _config(toy, tmp_path / "b", "dlfa", epochs=3)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(interrupted_config, show_progress=False, stop_after_steps=60)  # mid-epoch 2
    (stage,) = plan_stages(interrupted_config, tmp_path / "b" / "runs" / "toy-dlfa")
    checkpoints = list((partial_dir(stage.id) / "checkpoints").iterdir())
    assert checkpoints, "the interrupted run left no checkpoint"
    resumed = run_experiment(interrupted_config, show_progress=False)
    assert resumed["languages"]["en"]["accuracy"] == uninterrupted["languages"]["en"]["accuracy"]
    assert resumed["languages"]["de"]["accuracy"] == uninterrupted["languages"]["de"]["accuracy"]
    assert resumed["stages"][0]["dev_history"] == uninterrupted["stages"][0]["dev_history"]
    # Bit-identical weights: the same predictions on every example.
    for lang in ("en", "de"):
        a = (tmp_path / "a" / "runs" / "toy-dlfa" / "predictions" / "pawsx" / f"test-{lang}.tsv").read_text()
        b = (tmp_path / "b" / "runs" / "toy-dlfa" / "predictions" / "pawsx" / f"test-{lang}.tsv").read_text()
        assert a == b


def test_finished_run_is_not_redone_and_a_changed_config_is_refused(toy, tmp_path):
    config = _config(toy, tmp_path, "last", epochs=1)
    first = run_experiment(config, show_progress=False)
    results_file = tmp_path / "runs" / "toy-last" / "results.json"
    stamp = results_file.stat().st_mtime_ns
    assert run_experiment(config, show_progress=False) == first
    assert results_file.stat().st_mtime_ns == stamp
    changed = _config(toy, tmp_path, "last", epochs=2)
    with pytest.raises(ConfigError, match=r"different config .*differs in: training\.epochs \(1 -> 2\)"):
        run_experiment(changed, show_progress=False)


def test_gated_dlfa_with_a_faster_aggregation_lr_trains_end_to_end_and_its_gate_opens(toy, tmp_path):
    from safetensors.torch import load_file

    data, model = toy
    config = build_config(
        {
            "name": "toy-gated",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(model)},
            "aggregation": {"strategy": "dlfa", "layer": 1, "gate": "channel", "lr_multiplier": 10.0},
            "task": {"name": "pawsx", "source": "local", "data_dir": str(data), "eval_languages": ["en"]},
            "training": {"max_steps": 6, "batch_size": 16, "learning_rate": 1e-3, "warmup_ratio": 0.0},
        }
    )
    results = run_experiment(config, show_progress=False)
    assert results["aggregation"]["gate"] == "channel" and results["aggregation"]["lr_multiplier"] == 10.0
    assert results["stages"][0]["global_steps"] == 6
    weights = load_file(stage_weights(tmp_path / "runs" / "toy-gated", 0, "pawsx"))
    assert weights["aggregator.gate"].shape == (64,) and bool(weights["aggregator.gate"].abs().gt(0).all())
