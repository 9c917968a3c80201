"""Ensembles of fine-tuned runs: average their saved per-row probabilities, score with the task's own scorer.

Each member run must have evaluated with ``evaluation.save_logits: true``, which writes
``logits/<task>/<split>-<lang>.safetensors`` (``crossling.evaluation.logits``). The rows are
averaged as probabilities (``crossling.analysis.ensembles.average_probabilities``) and
scored exactly as a single run is, on the features and records the members were evaluated
on. Members must agree on the target task, its data and split, the languages and the
tokenizer, so that their rows are the same feature rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crossling.analysis.ensembles import average_probabilities
from crossling.config.loader import load_config, to_dict
from crossling.errors import ConfigError, DataError
from crossling.evaluation.logits import logits_path, read_logits
from crossling.models.encoder import load_tokenizer
from crossling.reports.results import RESULTS_SCHEMA, summarize
from crossling.tasks.loading import TaskData
from crossling.utils.io import atomic_write_json, atomic_write_text


def _member_identity(config: Any) -> dict[str, Any]:
    """What members must share for their rows to be the same feature rows."""
    task = to_dict(config.task)
    return {
        "task": {
            k: task[k]
            for k in (
                "name",
                "source",
                "data_dir",
                "eval_split",
                "max_length",
                "max_eval_examples",
                "params",
                "subword_labels",
            )
            if k in task
        },
        "model": config.model.name_or_path,
    }


def ensemble_runs(
    run_dirs: Sequence[Path], output_dir: Path, *, languages: Sequence[str] | None = None
) -> dict[str, Any]:
    """Average the saved probabilities of ``run_dirs`` per language, score them; write ``output_dir/results.json``.

    Returns the results (schema ``crossling.results/1``, plus ``members``). Prediction files go
    to ``output_dir/predictions/<task>/`` in the xtreme format, like a run's.

    Raises:
        ConfigError: fewer than two runs, or runs that differ in task, data, split or tokenizer.
        DataError: a member without saved logits for a language, or rows that do not line up.
    """
    if len(run_dirs) < 2:
        raise ConfigError("an ensemble needs at least two run directories")
    configs = []
    for run_dir in run_dirs:
        if not (run_dir / "config.yaml").is_file():
            raise ConfigError(f"{run_dir}: not a run directory (no config.yaml)")
        configs.append(load_config(run_dir / "config.yaml"))
    first = _member_identity(configs[0])
    for run_dir, config in zip(run_dirs[1:], configs[1:], strict=True):
        if _member_identity(config) != first:
            raise ConfigError(
                f"{run_dir} cannot join the ensemble of {run_dirs[0]}: its target task, data, split or "
                f"encoder differ ({_member_identity(config)} vs {first})"
            )
    config = configs[0]
    data = TaskData.from_config(config.task)
    plugin = data.spec.fine_tuned_kind()
    axis = plugin.probability_axis
    if axis is None:
        raise ConfigError(f"{data.spec.name}: {data.spec.kind} outputs cannot be averaged as probabilities")
    tokenizer = load_tokenizer(config.model)
    split = data.config.eval_split
    per_language: dict[str, dict[str, Any]] = {}
    for language in languages or data.eval_languages():
        members = [read_logits(logits_path(run_dir, data.spec.name, split, language)) for run_dir in run_dirs]
        features = data.features(language, split, tokenizer)
        averaged = average_probabilities(members, axis)
        if len(averaged) != len(features):
            raise DataError(
                f"{language}: the members' {len(averaged)} rows do not match the {len(features)} feature rows"
            )
        result = plugin.score(data.spec, averaged, features, data.records(language, split), language=language)
        per_language[language] = {**result.metrics, "count": result.count}
        extension, text = plugin.prediction_file(data.spec, result.predictions)
        atomic_write_text(output_dir / "predictions" / data.spec.name / f"{split}-{language}.{extension}", text)
    results = {
        "schema": RESULTS_SCHEMA,
        "name": output_dir.name,
        "task": data.spec.name,
        "kind": str(data.spec.kind),
        "metric": data.spec.metric,
        "eval_split": split,
        "model": config.model.name_or_path,
        "members": [str(run_dir) for run_dir in run_dirs],
        "ensemble": "mean of probabilities",
        "train_languages": list(data.config.train_languages),
        "languages": per_language,
        "summary": summarize(per_language, data.spec.metric, data.config.train_languages),
    }
    atomic_write_json(output_dir / "results.json", results)
    return results
