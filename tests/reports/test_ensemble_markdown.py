"""Docs blocks of ensembles beside their members: values, Holm marks and the verdict sentence."""

from __future__ import annotations

import json

import pytest

from crossling.reports.ensemble_markdown import ensemble_markdown, main


def _cell(value, low, high):
    return {"value": value, "low": low, "high": high}


def _result():
    def row(gain, p):
        return {
            "ensemble": _cell(60.0 + gain, 58.0 + gain, 62.0 + gain),
            "best_member": {"run": "udpos-after-xnli", **_cell(60.0, 58.0, 62.0)},
            "mean_member": _cell(57.0, 55.0, 59.0),
            "oracle": _cell(66.0, 64.0, 68.0),
            "ensemble_minus_best": {**_cell(gain, gain - 1.0, gain + 1.0), "p": p},
        }

    comparison = {"en": row(3.0, 0.001), "fr": row(-2.0, 0.002), "ja": row(0.5, 0.4)}
    return {
        "name": "udpos-prob",
        "task": "udpos",
        "metric": "f1",
        "members": ["a", "b"],
        "ensemble": {"method": "prob"},
        "comparison": comparison,
    }


def test_the_table_marks_holm_significant_gains_and_names_them():
    text = ensemble_markdown(_result())
    # Holm over 3 languages: 0.001 -> 0.003, 0.002 -> 0.004, 0.4 -> 0.4.
    assert "| en | 63.0 [61.0, 65.0] | 60.0 [58.0, 62.0] (udpos-after-xnli) | 57.0 [55.0, 59.0] |" in text
    assert "+3.0 [2.0, 4.0]* |" in text and "-2.0 [-3.0, -1.0]* |" in text and "+0.5 [-0.5, 1.5] |" in text
    assert (
        "- **udpos-prob**: significantly above its best member in en; significantly below its best member in fr; "
        "no significant difference in 1 language(s)." in text
    )


def test_a_run_without_a_comparison_is_refused():
    with pytest.raises(ValueError, match="no ensemble comparison"):
        ensemble_markdown({"name": "pawsx-direct"})


def test_main_replaces_the_named_block(tmp_path):
    run = tmp_path / "udpos-prob"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(_result()))
    doc = tmp_path / "doc.md"
    doc.write_text("a\n<!-- study-table:rq4:begin -->\nold\n<!-- study-table:rq4:end -->\nb\n")
    main([str(run), "--readme", str(doc), "--block", "rq4"])
    text = doc.read_text()
    assert "old" not in text and "#### udpos-prob (prob of 2 members), udpos f1" in text and "Method: one seed" in text
