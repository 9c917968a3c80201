"""Run the layer probe on an encoder: sentence vectors of every hidden state in one pass per batch, cached, then the three views.

The encoder is a model name/path (``offline:...``, hub id, local directory) or a run
directory's fine-tuned encoder (``crossling.pipelines.evaluate.load_run_model``). Sentences are encoded with the
retrieval settings (``retrieval.pooling``, ``batch_size``, ``max_length``; precision from
``training.mixed_precision``) through crossling's ``SentenceEncoder``, so layer k's vectors
are those ``crossling run`` scores with ``retrieval.layer: k``. The vectors of all hidden
states are cached under ``$CROSSLING_HOME/probes/<key>/`` (safetensors + JSON), keyed by the
model's identity, the number of hidden states, the settings and the sentences themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from crossling.analysis.layers import (
    LayerScores,
    ProbeResult,
    language_id_accuracy,
    linear_cka,
    markdown_table,
    plot_layers,
)
from crossling.analysis.probe_data import (
    PIVOT,
    ParallelText,
    describe_texts,
    parallel_texts,
    probe_task_data,
    texts_fingerprint,
)
from crossling.config.schema import ExperimentConfig, ModelConfig
from crossling.errors import DataError
from crossling.models.encoder import load_encoder, load_tokenizer, num_layers_and_hidden, resolve_model_path
from crossling.pipelines.retrieval import SentenceEncoder, retrieve_both_directions
from crossling.training.loop import resolve_mixed_precision
from crossling.utils.io import atomic_directory, atomic_write_json, atomic_write_text, sha256_json
from crossling.utils.paths import crossling_home

logger = logging.getLogger(__name__)


class AllLayers(nn.Module):
    """``[H_0 ; H_1 ; ... ; H_L]`` along the hidden dim, B x T x (L + 1) E: pooling it pools every layer at once."""

    def forward(self, hidden_states: Sequence[Tensor], attention_mask: Tensor) -> Tensor:
        """Concatenate the hidden states (``attention_mask`` is used by the pooling, not here)."""
        return torch.cat(list(hidden_states), dim=-1)


@dataclass
class ProbeTarget:
    """An encoder to probe, its tokenizer, and what identifies it in the cache.

    Args:
        encoder: A transformers encoder (called with ``output_hidden_states=True``).
        tokenizer: Its tokenizer.
        name: What the user named (model or run directory), for tables.
        fingerprint: JSON-ready identity of the weights (path, sizes and modification times).
    """

    encoder: nn.Module
    tokenizer: Any
    name: str
    fingerprint: dict[str, Any]


def files_fingerprint(directory: Path, pattern: str) -> list[tuple[str, int, int]]:
    """``(name, size, modification time in ns)`` of the files matching ``pattern`` in ``directory``, by name."""
    return [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in sorted(directory.glob(pattern))]


def load_model_target(model: ModelConfig) -> ProbeTarget:
    """A pretrained encoder by name or path (``offline:...`` converted on first use)."""
    path = Path(resolve_model_path(model.name_or_path))
    if path.is_dir():
        fingerprint = {
            "path": str(path.resolve()),
            "files": files_fingerprint(path, "*.safetensors") + files_fingerprint(path, "config.json"),
        }
    else:
        fingerprint = {"hub": model.name_or_path, "revision": model.revision}
    return ProbeTarget(load_encoder(model), load_tokenizer(model), model.name_or_path, fingerprint)


def _sentence_encoder(target: ProbeTarget, config: ExperimentConfig, max_length: int) -> SentenceEncoder:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    target.encoder.to(device)
    return SentenceEncoder(
        target.encoder,
        AllLayers(),
        target.tokenizer,
        pooling=config.retrieval.pooling,
        batch_size=config.retrieval.batch_size,
        max_length=max_length,
        mixed_precision=resolve_mixed_precision(config.training.mixed_precision),
    )


def layer_vectors(
    target: ProbeTarget, config: ExperimentConfig, texts: Sequence[ParallelText], max_length: int
) -> dict[str, tuple[Tensor, Tensor]]:
    """Language -> (its vectors, its English translations' vectors), each N x (L + 1) x E float32, cached."""
    num_layers, hidden = num_layers_and_hidden(target.encoder)
    encoder = _sentence_encoder(target, config, max_length)
    key = sha256_json(
        {
            "model": target.fingerprint,
            "hidden_states": num_layers + 1,
            "data": texts_fingerprint(texts),
            "pooling": encoder.pooling,
            "max_length": max_length,
            "precision": encoder.mixed_precision,
        }
    )
    directory = crossling_home() / "probes" / key
    if (directory / "vectors.safetensors").is_file():
        tensors = load_file(directory / "vectors.safetensors")
        logger.info("layer probe: vectors from the cache %s", directory)
    else:
        tensors = {}
        for text in texts:
            for side, sentences in (("xx", text.sentences), (PIVOT, text.english)):
                flat = encoder.encode(list(sentences), f"encode {text.language} ({side})").cpu()
                tensors[f"{text.language}.{side}"] = flat.reshape(len(sentences), num_layers + 1, hidden).contiguous()
        with atomic_directory(directory) as tmp:
            save_file(tensors, tmp / "vectors.safetensors")
            atomic_write_json(
                tmp / "meta.json",
                {
                    "model": target.name,
                    "fingerprint": target.fingerprint,
                    "hidden_states": num_layers + 1,
                    "languages": [t.language for t in texts],
                },
            )
    return {text.language: (tensors[f"{text.language}.xx"], tensors[f"{text.language}.{PIVOT}"]) for text in texts}


def _accuracy(predicted: list[int]) -> float:
    return 100.0 * sum(p == i for i, p in enumerate(predicted)) / len(predicted)


def score_layers(vectors: dict[str, tuple[Tensor, Tensor]], scoring: str, seeds: Sequence[int]) -> list[LayerScores]:
    """The three views at every hidden state from the cached vectors.

    Retrieval: sentence i must retrieve translation i (``retrieve_both_directions``, the
    configured scoring). Language ID: classes are English (the first language's English
    side) and every language. CKA: each language's vectors against their translations'.
    """
    first = next(iter(vectors.values()))[1]
    scores = []
    for layer in range(first.shape[1]):
        retrieval, cka = {}, {}
        for language, (x, y) in vectors.items():
            xx_en, en_xx = retrieve_both_directions(x[:, layer], y[:, layer], scoring)
            retrieval[language] = {"xx_en": _accuracy(xx_en), "en_xx": _accuracy(en_xx)}
            cka[language] = linear_cka(x[:, layer].numpy(), y[:, layer].numpy())
        classes = {PIVOT: first[:, layer].numpy(), **{lang: x[:, layer].numpy() for lang, (x, _) in vectors.items()}}
        scores.append(LayerScores(layer, retrieval, language_id_accuracy(classes, seeds), cka))
    return scores


def probe_texts(config: ExperimentConfig) -> tuple[list[ParallelText], int]:
    """The ``probe`` section's parallel sentences and the maximum length to encode them with."""
    data = probe_task_data(config.probe)
    texts = parallel_texts(data, config.probe.split, config.probe.max_sentences)
    if not texts:
        raise DataError(f"probe: no language besides English in {config.probe.task}")
    return texts, config.retrieval.max_length or data.max_length


def run_probe(
    target: ProbeTarget, config: ExperimentConfig, texts: tuple[list[ParallelText], int] | None = None
) -> ProbeResult:
    """Probe every hidden state of ``target`` on the ``probe`` section's parallel data (``texts``: read already)."""
    sentences, max_length = texts or probe_texts(config)
    vectors = layer_vectors(target, config, sentences, max_length)
    seeds = tuple(range(config.probe.seeds))
    layers = tuple(score_layers(vectors, config.retrieval.scoring, seeds))
    return ProbeResult(target.name, describe_texts(config.probe, sentences), layers, seeds)


def write_probe(result: ProbeResult, output_dir: Path) -> dict[str, Path]:
    """``probe.json``, ``probe.md`` (the table) and ``probe.png`` (the three curves) in ``output_dir``."""
    paths = {"json": output_dir / "probe.json", "markdown": output_dir / "probe.md", "plot": output_dir / "probe.png"}
    atomic_write_json(paths["json"], result.as_dict())
    sentences = ", ".join(f"{lang} {n}" for lang, n in result.data["sentences"].items())
    atomic_write_text(
        paths["markdown"],
        f"# Layer probe: {result.model}\n\nData: {result.data['task']} "
        f"({result.data['split']}), sentences per language: {sentences}; language-ID seeds "
        f"{list(result.seeds)}.\n\n{markdown_table(result)}",
    )
    plot_layers(result, paths["plot"])
    return paths
