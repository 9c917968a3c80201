"""mT5 as the encoder: an encoder-decoder checkpoint is fine-tuned through its encoder stack, last and DLFA."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tiny import WORDS, train_tokenizer, write_pawsx_layout
from transformers import MT5Config, MT5ForConditionalGeneration

from crossling.config import build_config
from crossling.models.encoder import load_encoder
from crossling.pipelines.experiment import run_experiment


@pytest.fixture(scope="module")
def mt5_toy(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny mT5 (encoder-decoder, as hub checkpoints are saved) with a tokenizer trained here, and toy pairs."""
    root = tmp_path_factory.mktemp("mt5")
    tokenizer = train_tokenizer([" ".join(words) for words in WORDS.values()] * 10)
    torch.manual_seed(0)
    config = MT5Config(
        vocab_size=len(tokenizer),
        d_model=64,
        d_kv=16,
        d_ff=128,
        num_layers=2,
        num_decoder_layers=1,
        num_heads=4,
        dropout_rate=0.0,
        pad_token_id=tokenizer.pad_token_id,
        decoder_start_token_id=0,
    )
    MT5ForConditionalGeneration(config).save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    return write_pawsx_layout(root / "data"), root / "model"


def test_an_encoder_decoder_checkpoint_loads_as_its_encoder(mt5_toy):
    _, model_dir = mt5_toy
    encoder = load_encoder(build_config({"model": {"name_or_path": str(model_dir)}}).model)
    assert type(encoder).__name__ == "T5EncoderModel"
    assert not any("decoder" in name for name, _ in encoder.named_parameters())


@pytest.mark.parametrize("strategy", ["last", "dlfa"])
def test_mt5_encoder_learns_the_pair_task(mt5_toy, tmp_path, strategy):
    data, model_dir = mt5_toy
    config = build_config(
        {
            "name": f"mt5-{strategy}",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(model_dir), "pooling": "mean"},
            "aggregation": {"strategy": strategy, **({"layer": 1} if strategy == "dlfa" else {})},
            "task": {"name": "pawsx", "source": "local", "data_dir": str(data), "eval_languages": ["en", "de"]},
            "training": {"epochs": 5, "batch_size": 16, "learning_rate": 1e-3, "mixed_precision": "no"},
        }
    )
    results = run_experiment(config, show_progress=False)
    assert results["languages"]["en"]["accuracy"] >= 90.0
    assert results["languages"]["de"]["count"] == 100
