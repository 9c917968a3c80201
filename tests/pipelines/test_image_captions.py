"""image-captions with real image features: a tiny CLIP vision model encodes PNGs (cached), and the stage trains
as an intermediate stage before a target."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tiny import make_tiny_model_dir
from transformers import (
    CLIPConfig,
    CLIPImageProcessor,
    CLIPModel,
    CLIPVisionConfig,
    CLIPVisionModel,
    CLIPVisionModelWithProjection,
    ViTConfig,
    ViTImageProcessor,
    ViTModel,
)

from crossling.config import build_config
from crossling.data import caption_sources
from crossling.errors import DataError, ModelError
from crossling.pipelines.experiment import run_experiment
from crossling.tasks import get_task
from crossling.tasks.kinds.image_text import ImageTextAlignment
from crossling.taskspec import SourceOptions
from crossling.training import loop

COLOURS = {"red": (220, 20, 20), "green": (20, 200, 40), "blue": (30, 30, 230)}


def tiny_clip(directory: Path, *, projection: bool = True) -> Path:
    """A randomly initialised tiny CLIP vision tower (with or without its projection) and its image processor."""
    torch.manual_seed(0)
    config = CLIPVisionConfig(
        hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8,
        projection_dim=12,
    )  # fmt: skip
    (CLIPVisionModelWithProjection if projection else CLIPVisionModel)(config).save_pretrained(directory)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(directory)
    return directory


def write_images(directory: Path, *, missing: str = "") -> Path:
    """A PNG per colour and ``train.jsonl`` with an English and a German caption of each (``missing``: no PNG)."""
    (directory / "images").mkdir(parents=True)
    lines = []
    for number, (name, rgb) in enumerate(COLOURS.items()):
        if name != missing:
            Image.new("RGB", (40, 36 + number), rgb).save(directory / "images" / f"{name}.png")
        for language, text in (("en", f"a {name} picture"), ("de", f"ein {name} Bild")):
            lines.append(json.dumps({"id": name, "image": f"images/{name}.png", "caption": text, "language": language}))
    (directory / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def vision_source(directory: Path, encoder: str):
    """The image-captions source encoding ``directory``'s images with ``encoder``."""
    options = SourceOptions(data_dir=directory, params={"vision_encoder": encoder, "vision_batch_size": 2})
    return get_task("image-captions").build_source("local", options)


def test_a_vision_encoder_features_the_images_once(tmp_path, monkeypatch):
    data = write_images(tmp_path / "data")
    tiny_clip(data / "clip")
    first = vision_source(data, "clip")  # a directory relative to data_dir
    assert first.feature_dim() == 12  # CLIP's projection: image_embeds
    records = first.load("en", "train")
    assert len(records) == 3 and len(records[0].features) == 12
    assert [r.features for r in first.load("de", "train")] == [r.features for r in records]
    assert len({r.features for r in records}) == 3

    def no_encoder(name):
        raise AssertionError("the cached image features were encoded again")

    monkeypatch.setattr(caption_sources, "load_vision_encoder", no_encoder)
    again = vision_source(data, str(data / "clip"))
    assert again.feature_dim() == 12 and [r.features for r in again.load("en", "train")] == [
        r.features for r in records
    ]


def test_a_full_clip_model_gives_its_projected_embedding_and_a_tower_without_projection_its_pooled_output(tmp_path):
    data = write_images(tmp_path / "data")
    vision = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}
    text = {**vision, "vocab_size": 50, "max_position_embeddings": 16, "bos_token_id": 0, "eos_token_id": 1}
    config = CLIPConfig(
        text_config=text, vision_config={**vision, "image_size": 32, "patch_size": 8}, projection_dim=10
    )
    CLIPModel(config).save_pretrained(tmp_path / "full")
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        tmp_path / "full"
    )
    assert vision_source(data, str(tmp_path / "full")).feature_dim() == 10
    assert vision_source(data, str(tiny_clip(tmp_path / "tower", projection=False))).feature_dim() == 16
    vit = tmp_path / "vit"
    ViTModel(
        ViTConfig(
            hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16, image_size=32, patch_size=8
        )
    ).save_pretrained(vit)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(vit)
    assert len(vision_source(data, str(vit)).load("de", "train")[0].features) == 8  # AutoModel: pooler_output


def test_missing_image_and_bad_encoder_are_one_line_errors(tmp_path):
    data = write_images(tmp_path / "data", missing="green")
    with pytest.raises(DataError) as info:
        vision_source(data, str(tiny_clip(tmp_path / "clip"))).load("en", "train")
    assert str(info.value) == f"{data / 'train.jsonl'}:3: image file not found: {data / 'images' / 'green.png'}"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"^task.params.vision_encoder: cannot load a vision encoder from") as info:
        vision_source(data, str(tmp_path / "empty")).feature_dim()
    assert "\n" not in str(info.value)


def test_image_captions_trains_as_an_intermediate_stage_before_a_target(tmp_path, monkeypatch):
    """Precomputed 6-dim features (.npy) of 8 images, 48 captions in two languages; then template NLI."""
    data = tmp_path / "captions"
    data.mkdir()
    rng = np.random.default_rng(0)
    words = ["red", "blue", "green", "small", "large", "round", "square", "dark"]
    np.save(data / "images.npy", rng.normal(size=(8, 6)).astype(np.float32))
    (data / "images.ids.txt").write_text("\n".join(f"img{i}" for i in range(8)), encoding="utf-8")
    rows = [
        {"id": f"img{i}", "caption": f"{prefix} {words[i]} {words[(i + k) % 8]}", "language": language}
        for i in range(8)
        for k in range(3)
        for language, prefix in (("en", "a"), ("de", "ein"))
    ]
    (data / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    texts = [r["caption"] for r in rows] + ["the cat sees the dog", "der hund sieht die katze"] * 5
    model = make_tiny_model_dir(tmp_path / "model", texts, hidden=32, layers=2)
    heads, trained = [], []
    build_head = ImageTextAlignment.build_head
    monkeypatch.setattr(
        ImageTextAlignment, "build_head", lambda self, h, n, **o: heads.append(n) or build_head(self, h, n, **o)
    )
    make_accelerator = loop.make_accelerator
    monkeypatch.setattr(loop, "make_accelerator", lambda *a, **k: trained.append(1) or make_accelerator(*a, **k))
    training = {"max_steps": 3, "batch_size": 8, "learning_rate": 1e-3, "mixed_precision": "no"}
    config = build_config(
        {
            "name": "captions",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(model)},
            "task": {
                "name": "tmpl-nli",
                "eval_languages": ["en", "de"],
                "dev_split": "none",
                "params": {"train_size": 32, "dev_size": 8, "test_size": 16},
            },
            "training": training,
            "intermediate": [
                {
                    "task": {
                        "name": "image-captions",
                        "data_dir": str(data),
                        "train_languages": ["en", "de"],
                        "dev_split": "none",
                        "params": {"image_features": "images.npy"},
                    },
                    "training": training,
                }
            ],
        }
    )
    results = run_experiment(config, show_progress=False)
    assert heads == [6] and len(trained) == 2
    assert results["languages"]["de"]["count"] == 16
