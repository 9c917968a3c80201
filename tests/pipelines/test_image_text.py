"""Image-text alignment (the multimodal intermediate task): a tiny BERT learns to retrieve scene vectors."""

from __future__ import annotations

import pytest
import torch
from tiny import make_tiny_model_dir

from crossling.config import build_config
from crossling.data.batching import PaddingCollator
from crossling.data.records import ImageTextExample
from crossling.evaluation.scorers.image_text import score_image_text
from crossling.models.heads import AlignmentHead
from crossling.pipelines.experiment import run_experiment
from crossling.tasks import get_task
from crossling.taskspec import SourceOptions


def test_alignment_loss_is_lowest_for_matching_pairs():
    head = AlignmentHead(8, 4, pooling="mean")
    scenes = torch.eye(4)
    assert head.loss(scenes * 5, scenes) < head.loss(scenes.flip(0) * 5, scenes)
    with pytest.raises(ValueError, match="scene-vector size"):
        AlignmentHead(8, 0)


def test_collator_keeps_vector_targets_as_floats():
    batch = PaddingCollator(0)(
        [
            {"input_ids": [1, 2], "attention_mask": [1, 1], "labels": [0.5, -1.0]},
            {"input_ids": [3], "attention_mask": [1], "labels": [1.0, 2.0]},
        ]
    )
    assert batch["labels"].dtype == torch.float32 and batch["labels"].shape == (2, 2)


def test_tiny_model_learns_to_retrieve_scenes(tmp_path):
    source = get_task("tmpl-image").build_source("generated", SourceOptions(params={"train_size": 400}))
    texts = [r.text for r in source.load("en", "train")]
    model = make_tiny_model_dir(tmp_path / "model", texts)
    config = build_config(
        {
            "name": "image",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(model), "pooling": "mean"},
            "task": {
                "name": "tmpl-image",
                "eval_languages": ["en", "de"],
                "dev_split": "none",
                "params": {"train_size": 400, "dev_size": 40, "test_size": 40},
            },
            "training": {"epochs": 8, "batch_size": 32, "learning_rate": 1e-3, "mixed_precision": "no"},
        }
    )
    results = run_experiment(config, show_progress=False)
    chance = 100 / 40
    assert results["languages"]["en"]["accuracy"] >= 10 * chance
    assert results["languages"]["de"]["count"] == 40
    lines = (tmp_path / "runs" / "image" / "predictions" / "tmpl-image" / "test-en.tsv").read_text().splitlines()
    assert len(lines) == 40 and all(0 <= int(x) < 40 for x in lines)


def test_captions_of_one_image_are_one_scene_when_scored():
    scenes = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # rows 0 and 1: one image
    records = [
        ImageTextExample(f"r{i}", "x", tuple(s.tolist()), image_id=k)
        for i, (s, k) in enumerate(zip(scenes, "aab", strict=True))
    ]
    spec = get_task("image-captions")
    score = score_image_text(spec, list(scenes.numpy()), {"labels": scenes.tolist()}, records)
    assert score.metrics["accuracy"] == 100.0 and score.predictions == [0, 0, 2]
