"""Evaluate a retrieval target: sentence vectors of the (intermediate-trained or pretrained) encoder, every language.

The protocol of each task (translation retrieval, bitext mining, ranking) is its kind plugin
(``crossling.tasks.kinds.retrieval``); the vectors come from ``crossling.models.sentence_encoder``
and the scoring math from ``crossling.evaluation.retrieval``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from crossling.config.schema import ExperimentConfig
from crossling.errors import ConfigError
from crossling.evaluation.example_stats import examples_path, write_example_stats
from crossling.evaluation.logits import logits_path, write_logits
from crossling.evaluation.retrieval import require_faiss
from crossling.models.sentence_encoder import build_sentence_encoder
from crossling.pipelines.stages import model_identity
from crossling.tasks.kinds.retrieval import Retrieval
from crossling.tasks.loading import TaskData
from crossling.utils.distributed import is_main_process
from crossling.utils.io import atomic_write_text


def evaluate_retrieval(
    config: ExperimentConfig,
    task_data: TaskData,
    tokenizer: Any,
    *,
    predictions_dir: Path | None,
    show_progress: bool = False,
    encoder: torch.nn.Module | None = None,
    logits_dir: Path | None = None,
    examples_dir: Path | None = None,
    weights_identity: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Score every evaluation language of a retrieval task: ``{lang: {metric: value, "count": n, "seconds": s}}``.

    ``encoder`` is the encoder the intermediate stages trained (default: the configured
    pretrained one). Writes ``predictions_dir/{task}/{split}-{lang}{suffix}`` files in
    xtreme's formats (see ``crossling.tasks.kinds.retrieval``) when ``predictions_dir`` is given.
    With ``logits_dir`` (a run directory) each language's queries x candidates cosine matrix is
    saved as its logits file (one row per query), which ``crossling ensemble`` averages; with
    ``examples_dir`` the per-example statistics of the metric (``examples/<task>/<split>-<lang>``).
    Candidate-pool vectors are cached on disk (``$CROSSLING_HOME/vectors``) under the weights'
    identity: ``weights_identity`` for a given ``encoder`` (the id of the stage that trained it;
    without one nothing is cached), the digest of the pretrained files otherwise.
    """
    if not is_main_process():  # launched on several processes: each scores everything, the main one writes
        predictions_dir = logits_dir = examples_dir = None
        show_progress = False
    plugin = task_data.spec.kind_plugin
    if not isinstance(plugin, Retrieval):
        raise ConfigError(f"{task_data.spec.name} is a {task_data.spec.kind} task, not a retrieval task")
    if config.retrieval.index == "faiss":
        require_faiss()  # before the pool is encoded
    max_length = config.retrieval.max_length or task_data.max_length
    if encoder is None:
        weights_identity = model_identity(config.model)
    sentence_encoder = build_sentence_encoder(
        config, tokenizer, max_length, encoder=encoder, weights_identity=weights_identity
    )
    sentence_encoder.show_progress = show_progress
    split = task_data.config.eval_split
    per_language: dict[str, dict[str, Any]] = {}
    for language in task_data.eval_languages():
        started = time.perf_counter()
        result = plugin.score_language(
            sentence_encoder, task_data, language, config.retrieval.scoring, config.retrieval.index
        )
        per_language[language] = {**result.metrics, "seconds": round(time.perf_counter() - started, 3)}
        name = task_data.spec.name
        if logits_dir is not None:
            similarity = result.similarity
            if similarity is None:
                similarity = plugin.similarity(sentence_encoder, task_data, language, split)
            write_logits(logits_path(logits_dir, name, split, language), list(similarity))
        if examples_dir is not None and result.examples is not None:
            write_example_stats(examples_path(examples_dir, name, split, language), result.examples)
        if predictions_dir is not None:
            for suffix, text in result.files.items():
                atomic_write_text(predictions_dir / task_data.spec.name / f"{split}-{language}{suffix}", text)
    return per_language
