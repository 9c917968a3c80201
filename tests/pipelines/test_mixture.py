"""Mixture stages end to end: a pair task and a tagging task share an encoder, both heads learn, resume is exact."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from tiny import LEXICON, WORDS, make_tiny_model_dir, write_pawsx_layout, write_tagging_layout

from crossling.config import build_config
from crossling.models.encoder import load_tokenizer
from crossling.pipelines.experiment import plan_stages, run_directory, run_experiment
from crossling.pipelines.stage_inputs import member_dev_scorers, stage_batches, stage_collator, stage_model
from crossling.training.checkpoint import load_model_weights
from crossling.training.loop import seed_everything, train_stage

TRAINING = {"batch_size": 16, "learning_rate": 2e-3, "checkpoint_every_steps": 0, "mixed_precision": "no"}


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path, Path]:
    """Pair data (same first word?), tagging data (a word's class) and a tiny model whose vocabulary covers both."""
    root = tmp_path_factory.mktemp("mixture")
    pairs = write_pawsx_layout(root / "pairs", train=400, dev=100, test=60)
    tags = write_tagging_layout(root / "tags", {("train", "en"): 160, ("dev", "en"): 40, ("test", "en"): 40})
    texts = [" ".join(words) for words in WORDS.values()] * 10
    texts += [" ".join(words) for lexicon in LEXICON.values() for words in lexicon.values()] * 10
    return pairs, tags, make_tiny_model_dir(root / "model", texts)


def _config(toy, output: Path, *, max_steps: int = 200, member_cap: int | None = None, **stage):
    stage = {"sampling": "uniform", **stage}
    pairs, tags, model = toy
    members = [
        {"task": {"name": "pawsx", "source": "local", "data_dir": str(pairs), "max_train_examples": member_cap}},
        {"task": {"name": "udpos", "source": "local", "data_dir": str(tags), "max_length": 24}},
    ]
    return build_config(
        {
            "name": "mix",
            "output_dir": str(output),
            "seed": 3,
            "model": {"name_or_path": str(model)},
            "intermediate": [
                {
                    "mixture": members,
                    "max_steps": max_steps,
                    "dev_evaluations": 2,
                    "training": TRAINING,
                    **stage,
                }
            ],
            "task": {"name": "pawsx", "source": "local", "data_dir": str(pairs), "eval_languages": ["en", "de"]},
            "training": {**TRAINING, "max_steps": 10},
        }
    )


def test_a_pair_and_a_tagging_task_train_together_and_both_heads_learn(toy, tmp_path):
    # Proportional: the pair task (400 rows, the slower to learn) gets about two thirds of 300 steps.
    config = _config(toy, tmp_path, max_steps=300, sampling="proportional")
    results = run_experiment(config, show_progress=False)

    mixture_stage = results["stages"][0]
    assert results["intermediate"] == ["pawsx+udpos"] and mixture_stage["task"] == "pawsx+udpos"
    assert mixture_stage["global_steps"] == 300 and len(mixture_stage["dev_history"]) == 2
    record = mixture_stage["mixture"]
    pair_rows, tag_rows = record["member_rows"]
    assert record["members"] == ["pawsx", "udpos"] and pair_rows == 400 and tag_rows >= 160
    assert record["probabilities"] == pytest.approx(
        [pair_rows / (pair_rows + tag_rows), tag_rows / (pair_rows + tag_rows)], abs=1e-6
    )
    assert sum(record["member_batches"]) == 300 and record["member_batches"][0] > record["member_batches"][1] > 50
    assert record["seed"] == config.seed
    # The target stage trained after it, on its encoder, and was evaluated.
    assert set(results["languages"]) == {"en", "de"} and results["stages"][1]["task"] == "pawsx"

    stage = plan_stages(config, run_directory(config))[0]
    model = stage_model(config, stage, None)
    load_model_weights(model, stage.directory / "model.safetensors")
    pair_accuracy, tag_f1 = (
        score(model) for score in member_dev_scorers(stage, load_tokenizer(config.model), 64, "no")
    )
    # Chance: 50% for the balanced pairs; 6 word classes for the tags.
    assert pair_accuracy >= 70.0, pair_accuracy
    assert tag_f1 >= 70.0, tag_f1
    assert mixture_stage["best_dev"] == pytest.approx((pair_accuracy + tag_f1) / 2)


def test_an_interrupted_mixture_stage_resumes_to_the_same_weights(toy, tmp_path):
    config = _config(toy, tmp_path, max_steps=12, dev_evaluations=1)
    stage = plan_stages(config, run_directory(config))[0]
    stage = dataclasses.replace(stage, training=dataclasses.replace(stage.training, checkpoint_every_steps=4))
    tokenizer = load_tokenizer(config.model)

    def train(work_dir: Path, stop: int | None) -> None:
        seed_everything(config.seed)
        model = stage_model(config, stage, None)
        train_stage(
            model,
            stage_batches(stage, tokenizer, config.seed),
            config=stage.training,
            seed=config.seed,
            work_dir=work_dir,
            collator=stage_collator(stage, tokenizer),
            show_progress=False,
            stop_after_steps=stop,
        )

    train(tmp_path / "whole", None)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "parts", 7)
    train(tmp_path / "parts", None)
    whole = (tmp_path / "whole" / "model.safetensors").read_bytes()
    assert (tmp_path / "parts" / "model.safetensors").read_bytes() == whole


def test_the_stage_id_covers_every_member_and_the_sampling(toy, tmp_path):
    def first_id(config) -> str:
        return plan_stages(config, run_directory(config))[0].id

    reference = first_id(_config(toy, tmp_path))
    assert first_id(_config(toy, tmp_path)) == reference
    assert first_id(_config(toy, tmp_path, member_cap=100)) != reference
    assert first_id(_config(toy, tmp_path, sampling="temperature", temperature=2.0)) != reference
    assert first_id(_config(toy, tmp_path, max_steps=150)) != reference
    # The data of a member: the same directory with a changed training file is a new stage.
    pairs, tags, model = toy
    copy = tmp_path / "tags"
    copy.mkdir()
    for path in tags.iterdir():
        (copy / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    before = first_id(_config((pairs, copy, model), tmp_path))
    (copy / "train-en.tsv").write_text(
        (tags / "train-en.tsv").read_text(encoding="utf-8") + "\nthe\tDET\ncat\tNOUN\n", encoding="utf-8"
    )
    assert first_id(_config((pairs, copy, model), tmp_path)) != before
