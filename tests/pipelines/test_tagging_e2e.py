"""End-to-end tagging: a tiny BERT learns a lexicon POS task from XTREME-layout files and is evaluated in every language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny import LEXICON, make_tiny_model_dir, write_tagging_layout

from crossling.config import build_config
from crossling.pipelines.experiment import run_experiment


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tagging")
    data = write_tagging_layout(
        root / "data", {("train", "en"): 200, ("dev", "en"): 40, ("test", "en"): 60, ("test", "xx"): 60}
    )
    texts = [" ".join(words) for lexicon in LEXICON.values() for words in lexicon.values()] * 20
    return data, make_tiny_model_dir(root / "model", texts)


def test_pos_task_is_learned_with_windows_and_every_language_is_reported(toy, tmp_path):
    data, model = toy
    config = build_config(
        {
            "name": "toy-udpos",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(model)},
            "aggregation": {"strategy": "last"},
            # max_length 24: the long (up to 40-word) sentences are cut into overlapping windows.
            "task": {
                "name": "udpos",
                "source": "local",
                "data_dir": str(data),
                "eval_languages": ["en", "xx"],
                "extra_languages": ["xx"],
                "max_length": 24,
            },
            "training": {
                "epochs": 3,
                "batch_size": 16,
                "learning_rate": 2e-3,
                "checkpoint_every_steps": 0,
                "mixed_precision": "no",
            },
        }
    )
    results = run_experiment(config, show_progress=False)

    assert set(results["languages"]) == {"en", "xx"}
    english = results["languages"]["en"]
    assert english["f1"] >= 90.0 and english["pos_accuracy"] >= 90.0
    assert results["metric"] == "f1" and results["languages"]["xx"]["count"] == 60
    assert "pos_accuracy" in results["languages"]["xx"]

    run_dir = tmp_path / "runs" / "toy-udpos"
    assert json.loads((run_dir / "results.json").read_text())["languages"] == results["languages"]
    for language in ("en", "xx"):
        gold_text = (data / f"test-{language}.tsv").read_text(encoding="utf-8")
        predicted_text = (run_dir / "predictions" / "udpos" / f"test-{language}.tsv").read_text(encoding="utf-8")
        gold = [block.split("\n") for block in gold_text.strip("\n").split("\n\n")]
        predicted = [block.split("\n") for block in predicted_text.strip("\n").split("\n\n")]
        # One tag per gold word, sentence by sentence; the file ends with a single newline.
        assert [len(s) for s in predicted] == [len(s) for s in gold]
        assert max(len(s) for s in gold) > 24  # some sentences did need windows
        assert predicted_text.endswith("\n") and not predicted_text.endswith("\n\n")
        if language == "en":
            pairs = [
                (p, g.split("\t")[1])
                for ps, gs in zip(predicted, gold, strict=True)
                for p, g in zip(ps, gs, strict=True)
            ]
            accuracy = 100 * sum(p == g for p, g in pairs) / len(pairs)
            assert accuracy == pytest.approx(english["pos_accuracy"])


def test_results_count_training_sentences_not_windows_and_record_the_data_caps(toy, tmp_path):
    data, model = toy
    config = build_config(
        {
            "name": "toy-count",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(model)},
            "task": {
                "name": "udpos",
                "source": "local",
                "data_dir": str(data),
                "eval_languages": ["en"],
                "max_length": 24,
                "max_eval_examples": 30,
            },
            "training": {"max_steps": 1, "batch_size": 16, "checkpoint_every_steps": 0, "mixed_precision": "no"},
        }
    )
    results = run_experiment(config, show_progress=False)
    assert results["data_caps"] == {"max_train_examples": None, "max_eval_examples": 30}
    assert results["languages"]["en"]["count"] == 30
    stage = results["stages"][0]
    assert stage["train_examples"] == 200  # the sentences of train-en.tsv
    assert stage["train_features"] > 200  # the long ones became several windows
