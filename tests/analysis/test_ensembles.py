"""Ensembles: saved logits round-trip, probability averaging by hand, two fine-tuned runs scored as one."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from tiny import WORDS, make_tiny_model_dir, write_pawsx_layout

from crossling.analysis.ensembles import (
    average_probabilities,
    ensemble_runs,
    logits_path,
    read_logits,
    write_logits,
)
from crossling.config import build_config
from crossling.errors import ConfigError, DataError
from crossling.pipelines.experiment import run_experiment


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


def test_average_probabilities_by_hand():
    a = [np.log(np.array([0.8, 0.2]))]
    b = [np.log(np.array([0.4, 0.6])) + 7.0]  # logits, not log-probabilities: the softmax removes the shift
    (mean,) = average_probabilities([a, b], axis=-1)
    np.testing.assert_allclose(np.exp(mean), [0.6, 0.4], rtol=1e-6)
    # QA rows (T x 2): distributions over the positions, one per column.
    start_end = [np.log(np.array([[0.5, 0.1], [0.5, 0.9]]))]
    other = [np.log(np.array([[0.9, 0.3], [0.1, 0.7]]))]
    (qa,) = average_probabilities([start_end, other], axis=0)
    np.testing.assert_allclose(np.exp(qa), [[0.7, 0.2], [0.3, 0.8]], rtol=1e-6)
    with pytest.raises(DataError, match="numbers of rows"):
        average_probabilities([a, a + a], axis=-1)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("ensemble")
    data = write_pawsx_layout(root / "data", train=200, dev=50, test=60)
    model = make_tiny_model_dir(root / "model", [" ".join(words) for words in WORDS.values()] * 10)
    runs = []
    for seed in (1, 2):
        config = build_config(
            {
                "name": f"member-{seed}",
                "seed": seed,
                "output_dir": str(root / "runs"),
                "model": {"name_or_path": str(model)},
                "task": {"name": "pawsx", "source": "local", "data_dir": str(data), "eval_languages": ["en", "de"]},
                "training": {"epochs": 1, "batch_size": 16, "learning_rate": 1e-3, "mixed_precision": "no"},
                "evaluation": {"save_logits": True},
            }
        )
        run_experiment(config, show_progress=False)
        runs.append(root / "runs" / f"member-{seed}")
    return runs[0], runs[1], data


def _labels(data: Path, language: str) -> np.ndarray:
    lines = (data / f"test-{language}.tsv").read_text(encoding="utf-8").splitlines()
    return np.array([int(line.split("\t")[-1]) for line in lines])


def test_two_runs_ensemble_to_the_accuracy_of_their_mean_probabilities(two_runs, tmp_path):
    first, second, data = two_runs
    results = ensemble_runs([first, second], tmp_path / "ens")
    assert results["members"] == [str(first), str(second)] and set(results["languages"]) == {"en", "de"}
    for language in ("en", "de"):
        a = np.stack(read_logits(logits_path(first, "pawsx", "test", language)))
        b = np.stack(read_logits(logits_path(second, "pawsx", "test", language)))
        probabilities = (np.exp(a) / np.exp(a).sum(1, keepdims=True) + np.exp(b) / np.exp(b).sum(1, keepdims=True)) / 2
        expected = 100 * float((probabilities.argmax(1) == _labels(data, language)).mean())
        assert results["languages"][language]["accuracy"] == pytest.approx(expected)
        assert results["languages"][language]["count"] == 60
    assert (tmp_path / "ens" / "predictions" / "pawsx" / "test-de.tsv").read_text().count("\n") == 60
    assert json.loads((tmp_path / "ens" / "results.json").read_text())["summary"]["num_languages"] == 2


def test_a_run_ensembled_with_itself_scores_as_the_run(two_runs, tmp_path):
    first, _, _ = two_runs
    alone = json.loads((first / "results.json").read_text())
    doubled = ensemble_runs([first, first], tmp_path / "self")
    for language in ("en", "de"):
        assert math.isclose(doubled["languages"][language]["accuracy"], alone["languages"][language]["accuracy"])


def test_members_must_share_the_task_and_one_run_is_not_an_ensemble(two_runs, tmp_path):
    first, second, _ = two_runs
    with pytest.raises(ConfigError, match="at least two"):
        ensemble_runs([first], tmp_path / "one")
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.yaml").write_text((second / "config.yaml").read_text().replace("pawsx", "xnli"))
    with pytest.raises(ConfigError, match="cannot join the ensemble"):
        ensemble_runs([first, other], tmp_path / "bad")
