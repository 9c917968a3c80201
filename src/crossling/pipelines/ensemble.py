"""Ensembles of runs: combine their saved rows, score them as one run, and set them beside their members.

Each member run must have evaluated with ``evaluation.save_logits: true``, which writes
``logits/<task>/<split>-<lang>.safetensors`` (``crossling.evaluation.logits``): the logits of
every feature row for fine-tuned kinds (classification, choice, tagging per sub-token, QA's
T x 2 start/end logits per window), the queries x candidates cosine matrix for retrieval. The
rows are combined (``crossling.analysis.ensembles.combine``: ``prob``, ``logit``, ``vote`` or
``weighted``, along the kind's ``probability_axis``) and scored by the kind's own scorer on the
features and records the members were evaluated on, so QA decodes spans and tagging merges
words exactly as a single run does.

``weighted`` fits the weights on the first training language's dev split (saved beside the
test logits by ``save_logits``) with ``fit_simplex_weights``: a grid over the simplex.

Members must agree on the task, split, languages, example ids and the data behind their rows;
otherwise a one-line ``ConfigError`` names the run that differs. The ensemble directory holds a
``results.json`` (schema ``crossling.results/1`` plus ``members``, ``ensemble`` and, per
language, the ensemble, best member, mean member and oracle with 95% intervals), per-example
statistics and prediction files like a run's, and is recorded in the results store of its
parent directory, so ``crossling report`` and ``crossling results`` read it as a run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crossling.analysis.ensembles import METHODS, combine, compare_with_members, fit_simplex_weights
from crossling.config.loader import load_config, to_dict
from crossling.config.schema import ExperimentConfig
from crossling.errors import ConfigError
from crossling.evaluation.example_stats import examples_path, read_example_stats, write_example_stats
from crossling.evaluation.logits import logits_path, read_logits
from crossling.evaluation.store import STORE_NAME, record_run
from crossling.models.encoder import load_tokenizer
from crossling.reports.results import RESULTS_SCHEMA, ensemble_store_config, summarize
from crossling.tasks.kinds.retrieval import Retrieval
from crossling.tasks.loading import TaskData
from crossling.tasks.registry import get_task
from crossling.utils.io import atomic_write_json, atomic_write_text, read_json

#: How the per-language comparison with the members is computed (written into results.json).
COMPARISON_METHOD = (
    "Per language: the ensemble, the member with the highest metric, the mean of the members' metrics and the "
    "oracle (per example the member output that maximises the corpus metric: for accuracy, correct if any member "
    "is; for QA, the best F1 over the members per question; for F1 over (tp, fp, fn), Dinkelbach's per-sentence "
    "choice). 95% intervals: percentiles of a paired bootstrap over the test examples (2,000 replicates)."
)


@dataclass
class Member:
    """One member run: its directory, config and results."""

    run_dir: Path
    config: ExperimentConfig
    results: dict[str, Any]


@dataclass
class Scored:
    """One language scored from combined rows: metrics (with ``count``), prediction files, per-example statistics."""

    metrics: dict[str, Any]
    files: dict[str, str]
    examples: Any


def _load_member(run_dir: Path) -> Member:
    """The run's config and results; a one-line ConfigError naming the directory where either is missing."""
    if not (run_dir / "config.yaml").is_file() or not (run_dir / "results.json").is_file():
        raise ConfigError(f"{run_dir}: not a run directory with results (no config.yaml or results.json)")
    return Member(run_dir, load_config(run_dir / "config.yaml"), read_json(run_dir / "results.json"))


def _identity(member: Member) -> dict[str, Any]:
    """What members must share for their rows to be the same rows: task, data, split, languages, tokenizer, scoring."""
    task = to_dict(member.config.task)
    return {
        "task": member.results["task"],
        "eval_split": member.results["eval_split"],
        "languages": sorted(member.results["languages"]),
        **{
            f"task.{k}": task.get(k)
            for k in ("source", "data_dir", "max_length", "max_eval_examples", "params", "subword_labels")
        },
        # Fine-tuned rows are feature rows of the tokenizer; similarity matrices do not depend on it.
        "tokenizer": member.config.model.name_or_path
        if get_task(member.results["task"]).kind_plugin.fine_tunes
        else None,
        "retrieval.scoring": member.config.retrieval.scoring,
    }


def check_members(members: Sequence[Member], languages: Sequence[str]) -> None:
    """One-line ConfigError naming the first run that differs from the first member, or whose example ids differ."""
    first = _identity(members[0])
    for member in members[1:]:
        identity = _identity(member)
        for key, value in first.items():
            if identity[key] != value:
                raise ConfigError(
                    f"{member.run_dir}: cannot join the ensemble of {members[0].run_dir}: its {key} is "
                    f"{identity[key]!r}, not {value!r}"
                )
    task, split = first["task"], first["eval_split"]
    for language in languages:
        hashes = [read_example_stats(examples_path(m.run_dir, task, split, language)).ids_sha256 for m in members]
        for member, digest in zip(members[1:], hashes[1:], strict=True):
            if digest != hashes[0]:
                raise ConfigError(
                    f"{member.run_dir}: cannot join the ensemble of {members[0].run_dir}: its {language} "
                    "example ids differ"
                )


class _Scorer:
    """Scores combined rows of one (language, split) with the task kind's own scorer."""

    def __init__(self, config: ExperimentConfig) -> None:
        self.config = config
        self.data = TaskData.from_config(config.task)
        self.plugin = self.data.spec.kind_plugin
        self.tokenizer = load_tokenizer(config.model) if self.plugin.fine_tunes else None

    def at(self, split: str) -> TaskData:
        """The task data with ``split`` as its evaluated split (retrieval scores ``eval_split``)."""
        return dataclasses.replace(self.data, config=dataclasses.replace(self.data.config, eval_split=split))

    def score(self, rows: list[np.ndarray], language: str, split: str) -> Scored:
        """The kind's metrics, prediction files and per-example statistics of ``rows``."""
        spec = self.data.spec
        if isinstance(self.plugin, Retrieval):  # rows are one similarity matrix's rows
            scoring = self.config.retrieval.scoring
            result = self.plugin.score_similarity(np.stack(rows), self.at(split), language, scoring)
            return Scored(result.metrics, result.files, result.examples)
        plugin = spec.fine_tuned_kind()
        features = self.data.features(language, split, self.tokenizer)
        if len(rows) != len(features):
            raise ConfigError(f"{spec.name} {language}: {len(rows)} saved rows for {len(features)} feature rows")
        result = plugin.score(spec, rows, features, self.data.records(language, split), language=language)
        extension, text = plugin.prediction_file(spec, result.predictions)
        return Scored({**result.metrics, "count": result.count}, {f".{extension}": text}, result.examples)


def _member_rows(members: Sequence[Member], task: str, split: str, language: str) -> list[list[np.ndarray]]:
    return [read_logits(logits_path(member.run_dir, task, split, language)) for member in members]


def fit_weights(members: Sequence[Member], scorer: _Scorer, axis: int | None) -> dict[str, Any]:
    """Weights on the simplex maximising the dev metric of the first training language (``fit_simplex_weights``)."""
    data = scorer.data
    language, split = data.config.train_languages[0], data.config.dev_split
    if split == "none":
        raise ConfigError(f"ensemble method weighted: {data.spec.name} has task.dev_split none; no dev data to fit on")
    for member in members:
        if not logits_path(member.run_dir, data.spec.name, split, language).is_file():
            raise ConfigError(
                f"{member.run_dir}: method weighted fits on {language} {split} rows, which this run did not save "
                "(fine-tuned runs with evaluation.save_logits do; retrieval runs save test similarities only)"
            )
    rows = _member_rows(members, data.spec.name, split, language)

    def dev_metric(weights: np.ndarray) -> float:
        return scorer.score(combine(rows, "weighted", axis, weights), language, split).metrics[data.spec.metric]

    weights, score = fit_simplex_weights(len(members), dev_metric)
    return {"weights": [float(w) for w in weights], "fitted_on": {"language": language, "split": split, "score": score}}


def _comparison(
    members: Sequence[Member], ensemble: Any, task: str, split: str, language: str, seed: int
) -> dict[str, Any]:
    """The ensemble beside the best member, mean member and oracle of one language (``compare_with_members``)."""
    stored = [read_example_stats(examples_path(m.run_dir, task, split, language)) for m in members]
    result = compare_with_members(ensemble.stats, [s.stats for s in stored], ensemble.statistic.aggregate, seed=seed)

    def cell(interval: Any) -> dict[str, float]:
        return {"value": interval.value, "low": interval.low, "high": interval.high}

    return {
        "ensemble": cell(result.ensemble),
        "best_member": {"run": members[result.best_index].run_dir.name, **cell(result.best_member)},
        "mean_member": cell(result.mean_member),
        "oracle": cell(result.oracle),
        "ensemble_minus_best": {**cell(result.minus_best), "p": result.p_minus_best},
    }


def ensemble_runs(
    run_dirs: Sequence[Path],
    output_dir: Path,
    *,
    method: str = "prob",
    languages: Sequence[str] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Combine the saved rows of ``run_dirs`` per language by ``method``, score them; write ``output_dir``.

    Returns the results (schema ``crossling.results/1`` plus ``members``, ``ensemble`` and
    ``comparison``). ``seed`` seeds the bootstrap of the intervals.

    Raises:
        ConfigError: fewer than two runs, an unknown method, or runs that differ (one line naming the run).
        DataError: a member without saved logits (or per-example statistics) for a language.
    """
    if method not in METHODS:
        raise ConfigError(f"ensemble method: expected one of {', '.join(METHODS)}, got {method!r}")
    if len(run_dirs) < 2:
        raise ConfigError("an ensemble needs at least two run directories")
    members = [_load_member(Path(run_dir)) for run_dir in run_dirs]
    scorer = _Scorer(members[0].config)
    spec, split = scorer.data.spec, members[0].results["eval_split"]
    axis = scorer.plugin.probability_axis
    if axis is None and not scorer.plugin.averages_scores:
        raise ConfigError(f"{spec.name}: {spec.kind} outputs are neither distributions nor scores; no ensemble")
    chosen = list(languages or members[0].results["languages"])
    check_members(members, chosen)
    fitted = fit_weights(members, scorer, axis) if method == "weighted" else {}
    per_language: dict[str, dict[str, Any]] = {}
    comparison: dict[str, dict[str, Any]] = {}
    for language in chosen:
        rows = combine(_member_rows(members, spec.name, split, language), method, axis, fitted.get("weights"))
        scored = scorer.score(rows, language, split)
        per_language[language] = scored.metrics
        for suffix, text in scored.files.items():
            atomic_write_text(output_dir / "predictions" / spec.name / f"{split}-{language}{suffix}", text)
        if scored.examples is not None:
            write_example_stats(examples_path(output_dir, spec.name, split, language), scored.examples)
            comparison[language] = _comparison(members, scored.examples, spec.name, split, language, seed)
    results = _results(members, output_dir, method, fitted, per_language, comparison)
    atomic_write_json(output_dir / "results.json", results)
    record_run(output_dir.parent / STORE_NAME, output_dir, results, ensemble_store_config(results))
    return results


def _results(
    members: Sequence[Member],
    output_dir: Path,
    method: str,
    fitted: dict[str, Any],
    per_language: dict[str, dict[str, Any]],
    comparison: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The ensemble's results.json document."""
    first = members[0].results
    train_languages = first["train_languages"]
    return {
        "schema": RESULTS_SCHEMA,
        "name": output_dir.name,
        "task": first["task"],
        "kind": first["kind"],
        "metric": first["metric"],
        "eval_split": first["eval_split"],
        "model": first["model"],
        "members": [str(member.run_dir) for member in members],
        "ensemble": {"method": method, **fitted},
        "train_languages": train_languages,
        "languages": per_language,
        "summary": summarize(per_language, first["metric"], train_languages),
        "comparison": comparison,
        "comparison_method": COMPARISON_METHOD,
    }
