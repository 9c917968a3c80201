"""Benchmark aggregation: task, category and overall scores equal hand-computed values."""

from __future__ import annotations

import pytest

from crossling.analysis.benchmark import (
    BENCHMARKS,
    benchmark_table,
    format_benchmark_table,
    task_score,
)


def _results(task: str, metric: str, **languages: dict[str, float]) -> dict:
    return {"task": task, "metric": metric, "languages": languages}


def _xtreme_results() -> list[dict]:
    return [
        _results("xnli", "accuracy", en={"accuracy": 80.0}, de={"accuracy": 70.0}),
        _results("pawsx", "accuracy", en={"accuracy": 90.0}),
        _results("udpos", "f1", en={"f1": 95.0}, de={"f1": 85.0}),
        _results("panx", "f1", en={"f1": 80.0}),
        _results("xquad", "f1", en={"f1": 80.0, "exact_match": 70.0}, de={"f1": 60.0, "exact_match": 50.0}),
        _results("mlqa", "f1", en={"f1": 70.0, "exact_match": 60.0}),
        _results("tydiqa", "f1", en={"f1": 50.0, "exact_match": 40.0}),
        _results("bucc2018", "f1", de={"f1": 60.0}),
        _results("tatoeba", "accuracy", de={"accuracy": 55.0, "accuracy_xx_en": 50.0, "accuracy_en_xx": 60.0}),
    ]


def test_task_scores_are_macro_averages_of_the_benchmark_metric():
    results = _xtreme_results()
    assert task_score(results[0]) == 75.0
    assert task_score(results[4]) == (70.0 + 60.0) / 2  # mean(avg F1, avg EM), xtreme's avg_metric
    assert task_score(results[-1]) == 50.0  # Tatoeba: xx -> en, as XTREME reports it


def test_xtreme_categories_and_overall_equal_hand_computed_values():
    table = benchmark_table(_xtreme_results(), "xtreme")
    scores = [75.0, 90.0, 90.0, 80.0, 65.0, 65.0, 45.0, 60.0, 50.0]
    assert [table["tasks"][t]["score"] for t in BENCHMARKS["xtreme"].tasks] == scores
    assert table["categories"]["classification"]["score"] == 82.5
    assert table["categories"]["structured prediction"]["score"] == 85.0
    assert table["categories"]["qa"]["score"] == pytest.approx(175.0 / 3)
    assert table["categories"]["retrieval"]["score"] == 55.0
    assert table["overall"] == pytest.approx(sum(scores) / 9)
    assert table["overall_categories"] == pytest.approx((82.5 + 85.0 + 175.0 / 3 + 55.0) / 4)
    assert table["tasks"]["tatoeba"]["missing_languages"] and "de" not in table["tasks"]["tatoeba"]["missing_languages"]
    assert "| **overall (mean of tasks)** |" in format_benchmark_table(table)


def test_missing_tasks_leave_category_and_overall_empty_and_others_are_ignored():
    results = [r for r in _xtreme_results() if r["task"] != "mlqa"] + [
        _results("xcopa", "accuracy", et={"accuracy": 60.0})
    ]
    table = benchmark_table(results, "xtreme")
    assert table["categories"]["qa"] == {"score": None, "tasks": ["xquad", "mlqa", "tydiqa"], "missing_tasks": ["mlqa"]}
    assert table["overall"] is None and table["overall_categories"] is None
    assert table["categories"]["classification"]["score"] == 82.5
    assert table["ignored"] == ["xcopa"]


def test_xtreme_r_groups_lareqa_with_retrieval_and_xcopa_only_with_classification():
    categories = BENCHMARKS["xtreme-r"].categories
    assert categories["retrieval"] == ("tatoeba", "mewslix", "lareqa")
    assert [c for c, tasks in categories.items() if "xcopa" in tasks] == ["classification"]
    assert len(BENCHMARKS["xtreme-r"].tasks) == 10


def test_duplicate_tasks_and_unknown_benchmarks_are_refused():
    with pytest.raises(ValueError, match="two results for task 'xnli'"):
        benchmark_table([_xtreme_results()[0]] * 2)
    with pytest.raises(ValueError, match="unknown benchmark"):
        benchmark_table([], "glue")
