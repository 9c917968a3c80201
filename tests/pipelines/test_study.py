"""Studies: seeds expand every system, runs write per-example statistics, study.json holds intervals and paired tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from tiny import WORDS, make_tiny_model_dir, write_pawsx_layout

from crossling.config import build_config
from crossling.errors import ConfigError, DataError
from crossling.evaluation.example_stats import accuracy_stats, examples_path, write_example_stats
from crossling.pipelines.study import run_study
from crossling.pipelines.sweep import expand, systems
from crossling.reports.study_markdown import BEGIN, END, main, replace_block, study_markdown


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("toy")
    data = write_pawsx_layout(root / "data", train=200, dev=40, test=60)
    model = make_tiny_model_dir(root / "model", [" ".join(words) for words in WORDS.values()] * 10)
    return data, model


def _study(toy, tmp_path: Path, **extra):
    data, model = toy
    return build_config(
        {
            "name": "study",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(model)},
            "task": {"name": "pawsx", "source": "local", "data_dir": str(data), "eval_languages": ["en", "de"]},
            "training": {"epochs": 1, "batch_size": 16, "learning_rate": 1e-3, "checkpoint_every_steps": 100},
            "variants": {"last": {}, "dlfa": {"aggregation.strategy": "dlfa", "aggregation.layer": 1}},
            "seeds": [1, 2],
            "study": {"resamples": 300, "permutations": 199},
            **extra,
        }
    )


def test_seeds_expand_every_system_into_seed_run_directories(tmp_path):
    config = build_config(
        {
            "name": "s",
            "output_dir": str(tmp_path),
            "seeds": [13, 14],
            "variants": {"last": {}, "dlfa": {"aggregation.strategy": "dlfa", "aggregation.layer": 6}},
        }
    )
    members = expand(config)
    assert [m.name for m in members] == ["last,seed=13", "last,seed=14", "dlfa,seed=13", "dlfa,seed=14"]
    assert {m.output_dir for m in members} == {tmp_path / "s"}
    assert [m.seed for m in members] == [13, 14, 13, 14] and not any(m.seeds or m.is_sweep for m in members)
    assert members[2].aggregation.strategy == "dlfa"
    assert {name: list(by_seed) for name, by_seed in systems(config).items()} == {"last": [13, 14], "dlfa": [13, 14]}
    single = build_config({"name": "one", "output_dir": str(tmp_path), "seeds": [1, 2, 3]})
    assert [str(m.output_dir / m.name) for m in expand(single)] == [
        str(tmp_path / "one" / f"seed={s}") for s in (1, 2, 3)
    ]


def test_seeds_must_be_distinct_and_not_also_swept():
    with pytest.raises(ConfigError, match="seeds: expected distinct seeds"):
        build_config({"seeds": [1, 1]})
    with pytest.raises(ConfigError, match="sweep.seed"):
        build_config({"seeds": [1, 2], "sweep": {"seed": [3, 4]}})
    with pytest.raises(ConfigError, match="study.resamples"):
        build_config({"study": {"resamples": 5}})


def test_study_runs_every_seed_and_writes_intervals_and_paired_tests(toy, tmp_path):
    config = _study(toy, tmp_path)
    study, path = run_study(config, show_progress=False)
    assert path == tmp_path / "runs" / "study" / "study.json" and json.loads(path.read_text()) == study
    assert study["schema"] == "crossling.study/1" and study["baseline"] == "last" and study["seeds"] == [1, 2]
    assert study["metric"] == "accuracy" and "bootstrap" in study["method"]
    for system in ("last", "dlfa"):
        runs = [
            json.loads((tmp_path / "runs" / "study" / f"{system},seed={s}" / "results.json").read_text())
            for s in (1, 2)
        ]
        for lang in ("en", "de"):
            entry = study["systems"][system]["languages"][lang]
            assert entry["mean"] == pytest.approx(np.mean([r["languages"][lang]["accuracy"] for r in runs]))
            assert entry["low"] <= entry["mean"] <= entry["high"] and entry["n_seeds"] == 2
        averages = study["systems"][system]["averages"]
        assert averages["english"]["mean"] == pytest.approx(study["systems"][system]["languages"]["en"]["mean"])
        assert averages["transfer"]["mean"] == pytest.approx(study["systems"][system]["languages"]["de"]["mean"])
    comparison = study["comparisons"]["dlfa"]["languages"]["en"]
    assert set(comparison) == {"diff", "low", "high", "p", "p_holm", "p_test_set", "significant"}
    assert comparison["diff"] == pytest.approx(
        study["systems"]["dlfa"]["languages"]["en"]["mean"] - study["systems"]["last"]["languages"]["en"]["mean"]
    )
    assert 0 < comparison["p"] <= comparison["p_holm"] <= 1 and "last" not in study["comparisons"]
    stats_file = examples_path(tmp_path / "runs" / "study" / "dlfa,seed=1", "pawsx", "test", "de")
    with safe_open(str(stats_file), framework="numpy") as handle:
        assert handle.get_tensor("stats").shape == (60, 2) and handle.get_tensor("stats").dtype == np.float64
        meta = handle.metadata()
    assert (
        meta["metric"] == "accuracy"
        and meta["aggregate"] == "ratio"
        and json.loads(meta["columns"]) == ["value", "count"]
    )
    assert len(meta["ids_sha256"]) == 64
    markdown = study_markdown(study)
    assert "| last |" in markdown and "Difference from last" in markdown and "- **dlfa** vs last:" in markdown

    rerun, _ = run_study(config, show_progress=False)  # finished runs are not redone
    assert rerun == study
    # Rows of another test set cannot be compared: the ids hash differs.
    other = accuracy_stats([1, 0], [1, 1], ["x", "y"])
    write_example_stats(examples_path(tmp_path / "runs" / "study" / "dlfa,seed=2", "pawsx", "test", "de"), other)
    with pytest.raises(DataError, match="not evaluated on the same test set"):
        run_study(config, show_progress=False)


def test_baseline_must_be_a_system(toy, tmp_path):
    with pytest.raises(ConfigError, match="study.baseline: 'mean' is not a system of this study; systems: last, dlfa"):
        run_study(_study(toy, tmp_path, study={"baseline": "mean"}), show_progress=False)
    assert not (tmp_path / "runs").exists()  # refused before any run


def test_readme_block_is_regenerated_from_study_json(tmp_path):
    study = {
        "schema": "crossling.study/1",
        "metric": "accuracy",
        "baseline": "a",
        "seeds": [1, 2],
        "method": "M.",
        "systems": {
            name: {
                "languages": {"en": {"mean": m, "low": m - 1, "high": m + 1, "n_seeds": 2}},
                "averages": {"overall": {"mean": m, "low": m - 1, "high": m + 1, "n_seeds": 2}},
            }
            for name, m in (("a", 50.0), ("b", 60.0))
        },
        "comparisons": {
            "b": {
                "languages": {
                    "en": {"diff": 10.0, "low": 8.0, "high": 12.0, "p": 0.001, "p_holm": 0.001, "significant": True}
                },
                "averages": {
                    "overall": {
                        "diff": 10.0,
                        "low": 8.0,
                        "high": 12.0,
                        "p": 0.001,
                        "p_holm": 0.001,
                        "significant": True,
                    }
                },
            }
        },
    }
    (tmp_path / "study.json").write_text(json.dumps(study))
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{BEGIN}\nold numbers\n{END}\noutro\n")
    main([str(tmp_path), "--readme", str(readme)])
    text = readme.read_text()
    assert "old numbers" not in text and text.startswith("intro\n") and text.endswith(f"{END}\noutro\n")
    assert "| a | 50.0 [49.0, 51.0] | 50.0 [49.0, 51.0] |" in text
    assert "| b | +10.0 [8.0, 12.0]* |" in text and "significantly higher in en" in text
    with pytest.raises(ValueError, match="no <!-- study-table:begin -->"):
        replace_block("no markers", "x")
    # Named blocks: only the block of that name is replaced, the others are left as they are.
    doc = tmp_path / "doc.md"
    doc.write_text(
        "<!-- study-table:rq1:begin -->\nold 1\n<!-- study-table:rq1:end -->\n"
        "<!-- study-table:rq2:begin -->\nold 2\n<!-- study-table:rq2:end -->\n"
    )
    main([str(tmp_path), "--readme", str(doc), "--block", "rq2"])
    assert "old 1" in doc.read_text() and "old 2" not in doc.read_text() and "| b | +10.0" in doc.read_text()
    with pytest.raises(ValueError, match="no <!-- study-table:rq3:begin -->"):
        replace_block(doc.read_text(), "x", name="rq3")


def test_an_ensemble_declared_in_a_study_is_scored_per_seed_and_becomes_a_system(toy, tmp_path):
    config = _study(
        toy,
        tmp_path,
        evaluation={"save_logits": True},
        ensembles={"both": {"members": ["last", "dlfa"], "method": "prob"}},
    )
    study, _ = run_study(config, show_progress=False)
    root = tmp_path / "runs" / "study"
    for seed in (1, 2):
        results = json.loads((root / f"both,seed={seed}" / "results.json").read_text())
        assert results["members"] == [str(root / f"last,seed={seed}"), str(root / f"dlfa,seed={seed}")]
        assert results["ensemble"] == {"method": "prob"} and set(results["comparison"]) == {"en", "de"}
        assert examples_path(root / f"both,seed={seed}", "pawsx", "test", "de").is_file()
    assert list(study["systems"]) == ["last", "dlfa", "both"] and "both" in study["comparisons"]
    seed_means = [
        json.loads((root / f"both,seed={s}" / "results.json").read_text())["languages"]["de"]["accuracy"]
        for s in (1, 2)
    ]
    assert study["systems"]["both"]["languages"]["de"]["mean"] == pytest.approx(np.mean(seed_means))
    assert set(json.loads((root / "sweep.json").read_text())["members"]) >= {"both,seed=1", "both,seed=2"}


def test_declared_ensembles_name_variants_and_have_two_members(tmp_path):
    base = {"name": "s", "output_dir": str(tmp_path), "variants": {"a": {}, "b": {"seed": 3}}}
    with pytest.raises(ConfigError, match="ensembles.e.members: c not among the variants"):
        build_config({**base, "ensembles": {"e": {"members": ["a", "c"]}}})
    with pytest.raises(ConfigError, match="ensembles.e.members: expected two or more distinct names"):
        build_config({**base, "ensembles": {"e": {"members": ["a"]}}})
    with pytest.raises(ConfigError, match="ensembles.e.method: expected one of"):
        build_config({**base, "ensembles": {"e": {"members": ["a", "b"], "method": "mean"}}})
    with pytest.raises(ConfigError, match="ensembles.a: ensembles combine variants or sweep members under other"):
        build_config({**base, "ensembles": {"a": {"members": ["a", "b"]}}})
    with pytest.raises(ConfigError, match="ensembles combine variants or sweep members"):
        build_config({"ensembles": {"e": {"members": ["a", "b"]}}})
