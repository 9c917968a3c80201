"""tracking.report_to: train loss, learning rate, dev and final scores reach TensorBoard through accelerate."""

from __future__ import annotations

import pytest
from tiny import WORDS, make_tiny_model_dir, write_pawsx_layout

from crossling.config import build_config
from crossling.errors import ConfigError
from crossling.pipelines.experiment import config_hash, run_experiment

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="tensorboard is not installed (pip install 'crossling[tracking]')",
)


def _config(tmp_path, **tracking):
    data = write_pawsx_layout(tmp_path / "data", train=64, dev=16, test=20)
    model = make_tiny_model_dir(tmp_path / "model", [" ".join(words) for words in WORDS.values()] * 10)
    return build_config(
        {
            "name": "tracked",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(model)},
            "task": {"name": "pawsx", "source": "local", "data_dir": str(data), "eval_languages": ["en", "de"]},
            "training": {"epochs": 2, "batch_size": 16, "learning_rate": 1e-3, "warmup_ratio": 0.0},
            "tracking": tracking,
        }
    )


def _all_scalars(directory):
    out = {}
    for events in directory.rglob("events.out.tfevents.*"):
        accumulator = event_accumulator.EventAccumulator(str(events))  # this file only
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            out.setdefault(tag, []).extend((e.step, e.value) for e in accumulator.Scalars(tag))
    return out


def test_tensorboard_receives_loss_learning_rate_dev_and_final_scores(tmp_path):
    config = _config(tmp_path, report_to=["tensorboard"])
    results = run_experiment(config, show_progress=False)
    scalars = _all_scalars(tmp_path / "runs" / "tracked" / "tracking")
    loss = scalars["stage1-pawsx/train_loss"]
    assert [step for step, _ in loss] == list(range(1, 9))  # 64 examples / 16 per batch x 2 epochs
    learning_rates = [value for _, value in scalars["stage1-pawsx/learning_rate"]]
    assert learning_rates[0] == pytest.approx(1e-3 * 7 / 8) and learning_rates[-1] == pytest.approx(0.0)
    history = results["stages"][0]["dev_history"]  # [step, epoch, score] per epoch
    assert scalars["stage1-pawsx/dev_score"] == [(step, pytest.approx(score)) for step, _, score in history]
    assert len(history) == 2
    for language in ("en", "de"):
        assert scalars[f"test/{language}/accuracy"] == [(8, pytest.approx(results["languages"][language]["accuracy"]))]
    assert scalars["test/avg_transfer"][0][1] == pytest.approx(results["summary"]["avg_transfer"])


def test_tracking_is_off_by_default_and_does_not_change_the_config_hash(tmp_path):
    plain = _config(tmp_path)
    assert plain.tracking.report_to == ()
    assert config_hash(plain) == config_hash(_config(tmp_path, report_to=["tensorboard"], logging_dir=str(tmp_path)))


def test_an_unknown_tracker_is_a_config_error_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"tracking.report_to\[0\]: expected one of 'tensorboard', 'mlflow', 'wandb'"):
        _config(tmp_path, report_to=["tensorbord"])
