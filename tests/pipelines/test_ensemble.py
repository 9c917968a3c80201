"""Ensembles of real tiny runs of every kind: hand-computed ensembles of fake logits, members that cannot join, the oracle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny import make_tiny_model_dir
from typer.testing import CliRunner

from crossling.analysis.ensembles import combine
from crossling.cli.main import app
from crossling.config import build_config, load_config
from crossling.data.template.source import TemplateSource
from crossling.errors import ConfigError, DataError
from crossling.evaluation.example_stats import ExampleStats, examples_path, read_example_stats, write_example_stats
from crossling.evaluation.logits import logits_path, read_logits, write_logits
from crossling.evaluation.store import STORE_NAME
from crossling.models.encoder import load_tokenizer
from crossling.pipelines.ensemble import ensemble_runs
from crossling.pipelines.experiment import run_experiment
from crossling.reports.query import scan, store_rows
from crossling.reports.report import load_results
from crossling.tasks.loading import TaskData
from crossling.tasks.registry import get_task
from crossling.taskspec import SourceOptions

SIZES = {"train_size": 96, "dev_size": 24, "test_size": 32}
#: One task of each kind the ensembles cover (the template benchmark has no multiple choice: XCOPA files).
KINDS = {"pairs": "tmpl-nli", "tagging": "tmpl-ner", "qa": "tmpl-qa", "retrieval": "tmpl-retrieval", "choice": "xcopa"}


def _choice_file(path: Path, n: int, seed: int) -> None:
    """XCOPA lines whose right choice repeats the premise's first word."""
    rng = np.random.default_rng(seed)
    words = ["red", "blue", "green", "cat", "dog", "bird", "tree", "house"]
    lines = []
    for i in range(n):
        first, other, tail = (words[j] for j in rng.choice(len(words), 3, replace=False))
        choices = [f"{first} {tail}", f"{other} {tail}"]
        label = i % 2
        if label:
            choices.reverse()
        record = {"premise": f"{first} {tail}", "choice1": choices[0], "choice2": choices[1]}
        lines.append(json.dumps({**record, "question": "cause", "label": label, "idx": i}))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _task(kind: str, root: Path) -> dict:
    if kind == "choice":
        data = root / "xcopa"
        for name, n, seed in (("en/train-en.jsonl", 96, 1), ("en/val-en.jsonl", 24, 2), ("en/test-en.jsonl", 32, 3)):
            _choice_file(data / name, n, seed)
        _choice_file(data / "de" / "test.de.jsonl", 32, 4)
        return {"name": "xcopa", "source": "local", "data_dir": str(data), "extra_languages": ["de"]}
    return {"name": KINDS[kind], "params": SIZES, "max_length": 64}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Two runs per kind that saved their logits: seeds 1 and 2 (retrieval: hidden layers 2 and 3)."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("ensembles")
    texts = [
        str(r) for t in ("nli", "ner", "qa") for r in TemplateSource(t, SourceOptions(params=SIZES)).load("en", "train")
    ]
    texts += [
        str(r) for t in ("nli", "ner", "qa") for r in TemplateSource(t, SourceOptions(params=SIZES)).load("de", "test")
    ]
    model = make_tiny_model_dir(root / "model", texts)
    out: dict[str, tuple[Path, Path]] = {}
    for kind in KINDS:
        members = []
        for seed in (1, 2):
            config = build_config(
                {
                    "name": f"{kind}-{seed}",
                    "seed": seed,
                    "output_dir": str(root / "runs"),
                    "model": {"name_or_path": str(model)},
                    "task": {**_task(kind, root), "eval_languages": ["en", "de"]},
                    "retrieval": {"layer": seed + 1},
                    "training": {"epochs": 1, "batch_size": 16, "learning_rate": 1e-3, "mixed_precision": "no"},
                    "evaluation": {"save_logits": True},
                }
            )
            run_experiment(config, show_progress=False)
            members.append(root / "runs" / f"{kind}-{seed}")
        out[kind] = (members[0], members[1])
    return out


def _results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text())


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _by_hand(rows: list[list[np.ndarray]], method: str, axis: int | None) -> list[np.ndarray]:
    """The module docstring's formulas, written out per row, independently of ``combine``."""
    out = []
    for a, b in zip(*rows, strict=True):
        if axis is None or method == "logit":
            out.append((a + b) / 2)
        elif method == "prob":
            out.append(np.log((_softmax(a, axis) + _softmax(b, axis)) / 2))
        else:  # vote: one vote per member's argmax, half the mean probability breaks ties
            votes = np.zeros_like(a)
            for row in (a, b):
                np.put_along_axis(votes, np.expand_dims(row.argmax(axis), axis), 1.0, axis)
            both = a.argmax(axis) == b.argmax(axis)
            votes = votes * np.where(np.expand_dims(both, axis), 2.0, 1.0)
            out.append(votes + 0.5 * (_softmax(a, axis) + _softmax(b, axis)) / 2)
    return out


def _fake_members(pair: tuple[Path, Path], root: Path, seed: int) -> tuple[Path, Path]:
    """Copies of the two runs whose saved test rows are replaced by random ones of the same shapes."""
    rng = np.random.default_rng(seed)
    copies = []
    for run in pair:
        copy = root / run.name
        shutil.copytree(run, copy)
        for path in (copy / "logits").rglob("test-*.safetensors"):
            rows = [rng.normal(0, 2, row.shape) for row in read_logits(path)]
            if len(rows) == rows[0].size:  # a similarity matrix: the true pairs score higher, as an encoder's would
                rows = [row + 3.0 * (np.arange(row.size) == i) for i, row in enumerate(rows)]
            write_logits(path, [row.astype(np.float32) for row in rows])
        copies.append(copy)
    return copies[0], copies[1]


def _labels_accuracy(kind: str, rows: list[np.ndarray], records: list) -> float:
    """Accuracy by hand: pairs' and choices' argmax against the gold label; retrieval's two directions on the diagonal."""
    if kind == "retrieval":
        matrix = np.stack(rows)
        gold = np.arange(len(matrix))
        return 100 * ((matrix.argmax(1) == gold).mean() + (matrix.argmax(0) == gold).mean()) / 2
    labels = get_task(KINDS[kind]).labels if kind == "pairs" else None
    gold = [labels.index(r.label) if labels else r.label for r in records]
    return 100 * float(np.mean([row.argmax() == g for row, g in zip(rows, gold, strict=True)]))


def _member_config(run: Path):
    return load_config(run / "config.yaml")


@pytest.mark.parametrize("kind", list(KINDS))
def test_hand_computed_ensemble_of_two_fake_logits_files_equals_the_code(runs, kind, tmp_path):
    first, second = _fake_members(runs[kind], tmp_path, seed=len(kind))
    config = _member_config(first)
    data = TaskData.from_config(config.task)
    axis = data.spec.kind_plugin.probability_axis
    methods = ("prob", "logit", "vote") if axis is not None else ("logit", "prob")
    for method in methods:
        results = ensemble_runs([first, second], tmp_path / f"ens-{method}", method=method)
        for language in ("en", "de"):
            rows = [read_logits(logits_path(run, data.spec.name, "test", language)) for run in (first, second)]
            expected_rows = _by_hand(rows, method, axis)
            records = data.records(language, "test")
            if kind in ("pairs", "choice", "retrieval"):
                expected = _labels_accuracy(kind, expected_rows, records)
            else:  # spans and words are decoded by the kind's own scorer from the hand-combined rows
                features = data.features(language, "test", load_tokenizer(config.model))
                plugin = data.spec.fine_tuned_kind()
                expected = plugin.score(data.spec, expected_rows, features, records, language=language).metrics[
                    data.spec.metric
                ]
            assert results["languages"][language][data.spec.metric] == pytest.approx(expected, abs=1e-6), method


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_run_ensembled_with_itself_by_logit_averaging_scores_as_the_run(runs, kind, tmp_path):
    run = runs[kind][0]
    alone, doubled = _results(run), ensemble_runs([run, run], tmp_path / "self", method="logit")
    metric = alone["metric"]
    for language in ("en", "de"):
        assert doubled["languages"][language][metric] == pytest.approx(alone["languages"][language][metric])


@pytest.mark.parametrize("kind", list(KINDS))
def test_oracle_is_at_least_the_best_member_which_is_at_least_the_mean_member(runs, kind, tmp_path):
    first, second = runs[kind]
    results = ensemble_runs([first, second], tmp_path / "ens", method="logit")
    members = [_results(first), _results(second)]
    metric = results["metric"]
    for language, row in results["comparison"].items():
        values = [m["languages"][language][metric] for m in members]
        assert row["best_member"]["value"] == pytest.approx(max(values))
        assert row["mean_member"]["value"] == pytest.approx(sum(values) / 2)
        assert row["oracle"]["value"] >= row["best_member"]["value"] - 1e-9
        assert row["best_member"]["value"] >= row["mean_member"]["value"] - 1e-9
        assert row["ensemble"]["value"] == pytest.approx(results["languages"][language][metric])
        for cell in ("ensemble", "best_member", "mean_member", "oracle"):
            assert row[cell]["low"] - 1e-9 <= row[cell]["value"] <= row[cell]["high"] + 1e-9
    assert set(results["comparison"]) == {"en", "de"}


def test_ensembles_write_per_example_statistics_and_are_recorded_like_runs(runs, tmp_path):
    first, second = runs["pairs"]
    results = ensemble_runs([first, second], tmp_path / "ens", method="vote")
    stored = read_example_stats(examples_path(tmp_path / "ens", "tmpl-nli", "test", "de"))
    assert 100 * stored.stats[:, 0].sum() / stored.stats[:, 1].sum() == pytest.approx(
        results["languages"]["de"]["accuracy"]
    )
    assert stored.ids_sha256 == read_example_stats(examples_path(first, "tmpl-nli", "test", "de")).ids_sha256
    rows = [r for r in store_rows(tmp_path) if r["metric"] == "accuracy" and r["language"] == "de"]
    assert [r["value"] for r in rows] == [pytest.approx(results["languages"]["de"]["accuracy"])]
    assert load_results([tmp_path / "ens"])["ens"]["members"] == [str(first), str(second)]
    (tmp_path / STORE_NAME).unlink()  # `crossling results --scan` records an ensemble as it records a run
    assert scan(tmp_path) == 1 and {r["ensemble.method"] for r in store_rows(tmp_path)} == {"vote"}


def test_weights_are_fitted_on_english_dev_logits_and_beat_uniform_weights_there(runs, tmp_path):
    first, second = runs["pairs"]
    assert logits_path(first, "tmpl-nli", "dev", "en").is_file()
    results = ensemble_runs([first, second], tmp_path / "ens", method="weighted")
    fitted = results["ensemble"]
    assert sum(fitted["weights"]) == pytest.approx(1.0) and len(fitted["weights"]) == 2
    assert fitted["fitted_on"]["language"] == "en" and fitted["fitted_on"]["split"] == "dev"
    data = TaskData.from_config(_member_config(first).task)
    dev = [read_logits(logits_path(run, "tmpl-nli", "dev", "en")) for run in (first, second)]
    records = data.records("en", "dev")

    def dev_accuracy(rows: list[np.ndarray]) -> float:
        return _labels_accuracy("pairs", rows, records)

    assert fitted["fitted_on"]["score"] == pytest.approx(dev_accuracy(combine(dev, "weighted", -1, fitted["weights"])))
    assert fitted["fitted_on"]["score"] >= dev_accuracy(combine(dev, "prob", -1)) - 1e-9
    test = [read_logits(logits_path(run, "tmpl-nli", "test", "de")) for run in (first, second)]
    expected = _labels_accuracy("pairs", combine(test, "weighted", -1, fitted["weights"]), data.records("de", "test"))
    assert results["languages"]["de"]["accuracy"] == pytest.approx(expected)


def _one_line(excinfo: pytest.ExceptionInfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_members_that_differ_are_refused_in_one_line_naming_the_run(runs, tmp_path):
    first, second = runs["pairs"]
    with pytest.raises(ConfigError, match="at least two"):
        ensemble_runs([first], tmp_path / "one")
    with pytest.raises(ConfigError) as excinfo:
        ensemble_runs([first, runs["tagging"][0]], tmp_path / "task")
    assert _one_line(excinfo).startswith(f"{runs['tagging'][0]}: cannot join") and "task is 'tmpl-ner'" in str(
        excinfo.value
    )
    fewer = tmp_path / "fewer"
    shutil.copytree(second, fewer)
    results = _results(fewer)
    del results["languages"]["de"]
    (fewer / "results.json").write_text(json.dumps(results))
    with pytest.raises(ConfigError) as excinfo:
        ensemble_runs([first, fewer], tmp_path / "languages")
    assert _one_line(excinfo).startswith(f"{fewer}: cannot join") and "languages" in str(excinfo.value)
    other_ids = tmp_path / "ids"
    shutil.copytree(second, other_ids)
    path = examples_path(other_ids, "tmpl-nli", "test", "de")
    stored = read_example_stats(path)
    ids = tuple(f"other-{i}" for i in range(len(stored.stats)))
    write_example_stats(path, ExampleStats(stored.metric, stored.statistic, stored.stats, ids))
    with pytest.raises(ConfigError) as excinfo:
        ensemble_runs([first, other_ids], tmp_path / "bad-ids")
    assert _one_line(excinfo) == f"{other_ids}: cannot join the ensemble of {first}: its de example ids differ"
    with pytest.raises(ConfigError, match="expected one of prob, logit, vote, weighted"):
        ensemble_runs([first, second], tmp_path / "method", method="median")


def test_a_member_without_saved_logits_is_a_one_line_data_error(runs, tmp_path):
    first, second = runs["pairs"]
    bare = tmp_path / "bare"
    shutil.copytree(second, bare)
    shutil.rmtree(bare / "logits")
    with pytest.raises(DataError) as excinfo:
        ensemble_runs([first, bare], tmp_path / "ens")
    assert "evaluation.save_logits: true" in _one_line(excinfo)


def test_retrieval_similarities_cannot_be_voted_on(runs, tmp_path):
    with pytest.raises(ConfigError, match="no label axis to vote"):
        ensemble_runs(list(runs["retrieval"]), tmp_path / "ens", method="vote")


def test_a_config_declaring_an_ensemble_produces_it_after_its_variants_and_reports_it(runs, tmp_path):
    model = _member_config(runs["pairs"][0]).model.name_or_path
    config = {
        "name": "rq4",
        "output_dir": str(tmp_path / "runs"),
        "model": {"name_or_path": model},
        "task": {"name": "tmpl-nli", "params": SIZES, "max_length": 64, "eval_languages": ["en", "de"]},
        "training": {"epochs": 1, "batch_size": 16, "learning_rate": 1e-3, "mixed_precision": "no"},
        "evaluation": {"save_logits": True},
        "variants": {"a": {"seed": 1}, "b": {"seed": 2}},
        "ensembles": {"ab": {"members": ["a", "b"], "method": "vote"}},
    }
    path = tmp_path / "rq4.yaml"
    path.write_text(json.dumps(config))
    result = CliRunner().invoke(app, ["run", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    root = tmp_path / "runs" / "rq4"
    ensemble = json.loads((root / "ab" / "results.json").read_text())
    assert ensemble["members"] == [str(root / "a"), str(root / "b")] and ensemble["ensemble"]["method"] == "vote"
    assert "| ab | ensemble of 2 runs |" in (root / "report.md").read_text()
    cli = CliRunner().invoke(
        app, ["ensemble", str(root / "a"), str(root / "b"), "--output-dir", str(tmp_path / "cli"), "--method", "logit"]
    )
    assert cli.exit_code == 0 and "beside its members" in cli.output and "oracle" in cli.output


def test_retrieval_weights_need_dev_similarities_that_retrieval_runs_do_not_save(runs, tmp_path):
    first, second = runs["retrieval"]
    with pytest.raises(ConfigError) as excinfo:
        ensemble_runs([first, second], tmp_path / "ens", method="weighted")
    assert _one_line(excinfo).startswith(f"{first}: method weighted fits on en dev rows")


def test_image_text_vectors_are_not_ensembled(runs, tmp_path):
    model = _member_config(runs["pairs"][0]).model.name_or_path
    config = build_config(
        {
            "name": "image",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": model},
            "task": {"name": "tmpl-image", "params": SIZES, "max_length": 64, "eval_languages": ["en"]},
            "training": {"epochs": 1, "batch_size": 16, "learning_rate": 1e-3, "mixed_precision": "no"},
            "evaluation": {"save_logits": True},
        }
    )
    run_experiment(config, show_progress=False)
    run = tmp_path / "runs" / "image"
    with pytest.raises(ConfigError) as excinfo:
        ensemble_runs([run, run], tmp_path / "ens")
    assert (
        _one_line(excinfo)
        == "tmpl-image: image_text_alignment outputs are neither distributions nor scores; no ensemble"
    )
