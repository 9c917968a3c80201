"""Benchmark scores from per-task results: task averages, category averages, XTREME's and XTREME-R's overall scores.

Definitions (the tables below are the only place they live):

* **Task score**: the macro average over the evaluated languages of the task's benchmark
  metric (``TASK_SCORE_METRICS``, else the run's primary metric). For the QA tasks it is
  ``(avg EM + avg F1) / 2``, as ``avg_metric`` in google-research/xtreme's ``evaluate.py``;
  for Tatoeba it is the xx -> en accuracy that XTREME reports (crossling's primary Tatoeba
  metric is the mean of both directions; see ``crossling.pipelines.retrieval``).
* **Category score**: the mean of its tasks' scores (only when every task of it is present).
* **Overall score** (``overall``): the mean over *all tasks* of the benchmark, not over the
  categories: this is ``all_task`` in xtreme's ``evaluate.py`` (both the XTREME-only version
  and the one with ``--xtreme_version``), and with mBERT's published per-task numbers it gives
  the 59.6 of the XTREME leaderboard, whereas the mean of the four category means would be
  about 60.4. The mean of the category scores is reported as well, under its own name
  (``overall_categories``), never as "the" score.

Groupings. XTREME: classification (xnli, pawsx), structured prediction (udpos, panx), QA
(xquad, mlqa, tydiqa), retrieval (bucc2018, tatoeba). XTREME-R (paper: Ruder et al. 2021):
classification (xnli, xcopa), structured prediction (udpos, panx), QA (xquad, mlqa,
tydiqa), retrieval (tatoeba, mewslix, lareqa).

The official XTREME-R scorer disagrees with the paper. What was checked: ``evaluate.py`` of
google-research/xtreme at commit da430dd06cc7344ceb2e7cb030219656ebf0606a (the commit that
added the Mewsli-X mock data). Its ``XTREME_R_GROUP2TASK`` is
``classification: [xnli, xcopa]``, ``tagging: [udpos, panx]``, ``qa: [xquad, mlqa, tydiqa]``,
``retrieval: [tatoeba, mewslix]``, ``multi_choice: [xcopa]``: LAReQA is in no group (its
language list is empty and it has no reader or metric), and XCOPA is in two groups. Its
``all_task`` needs every task of ``XTREME_R_TASK2LANGS``, LAReQA included, so that scorer
never prints an XTREME-R overall score. crossling follows the paper: LAReQA in retrieval,
XCOPA only in classification, and the overall score over the ten tasks. Whether the
leaderboard itself grouped them the same way could not be checked here (no live web).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Benchmark:
    """A benchmark: categories of tasks, in the order its paper lists them.

    Args:
        name: ``xtreme`` or ``xtreme-r`` (also the language-set name of ``TaskSpec.all_languages``).
        categories: Category name -> its tasks (registry names).
    """

    name: str
    categories: Mapping[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        tasks = [task for group in self.categories.values() for task in group]
        if len(tasks) != len(set(tasks)):
            raise ValueError(f"benchmark {self.name!r}: a task is in more than one category")

    @property
    def tasks(self) -> tuple[str, ...]:
        """Every task, category by category."""
        return tuple(task for group in self.categories.values() for task in group)


#: The two benchmarks' groupings (see the module docstring for the XTREME-R scorer's differences).
BENCHMARKS: dict[str, Benchmark] = {
    "xtreme": Benchmark("xtreme", {
        "classification": ("xnli", "pawsx"),
        "structured prediction": ("udpos", "panx"),
        "qa": ("xquad", "mlqa", "tydiqa"),
        "retrieval": ("bucc2018", "tatoeba"),
    }),
    "xtreme-r": Benchmark("xtreme-r", {
        "classification": ("xnli", "xcopa"),
        "structured prediction": ("udpos", "panx"),
        "qa": ("xquad", "mlqa", "tydiqa"),
        "retrieval": ("tatoeba", "mewslix", "lareqa"),
    }),
}  # fmt: skip

#: Per-language metrics whose macro averages are averaged into the task score, where that is
#: not the run's primary metric alone (xtreme's ``avg_metric``).
TASK_SCORE_METRICS: dict[str, tuple[str, ...]] = {
    "xquad": ("exact_match", "f1"),
    "mlqa": ("exact_match", "f1"),
    "tydiqa": ("exact_match", "f1"),
    "tatoeba": ("accuracy_xx_en",),
}


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def task_score(results: Mapping[str, Any]) -> float:
    """The benchmark score of one task's ``results.json``: ``mean_m mean_lang results.languages[lang][m]``.

    ``m`` ranges over ``TASK_SCORE_METRICS[task]`` (else the run's primary metric).

    Raises:
        ValueError: when a language lacks one of the metrics, or no language was evaluated.
    """
    task, languages = results["task"], results["languages"]
    metrics = TASK_SCORE_METRICS.get(task, (results["metric"],))
    if not languages:
        raise ValueError(f"{task}: the results hold no evaluated language")
    averages = []
    for metric in metrics:
        missing = [lang for lang, values in languages.items() if metric not in values]
        if missing:
            raise ValueError(f"{task}: metric {metric!r} missing for {', '.join(sorted(missing))}")
        averages.append(_mean([values[metric] for values in languages.values()]))
    return _mean(averages)


def _benchmark_languages(task: str, benchmark: str) -> tuple[str, ...] | None:
    from crossling.errors import ConfigError
    from crossling.tasks.registry import get_task

    try:
        return get_task(task).all_languages(benchmark)
    except ConfigError:
        return None


def benchmark_table(results: Sequence[Mapping[str, Any]], benchmark: str = "xtreme") -> dict[str, Any]:
    """Task, category and overall scores of ``benchmark`` from ``results.json`` dicts (one per task).

    Returns:
        ``{"benchmark", "tasks": {task: {"score", "metrics", "num_languages",
        "missing_languages"}}, "categories": {category: {"score", "tasks", "missing_tasks"}},
        "overall": mean over all the benchmark's tasks, "overall_categories": mean of the
        category scores, "ignored": tasks outside the benchmark}``. A category or overall score
        is ``None`` while one of its tasks is missing. ``missing_languages`` lists benchmark
        languages the run did not evaluate (``None`` for a task crossling does not register):
        a task score over fewer languages is not comparable with published numbers.

    Raises:
        ValueError: for an unknown benchmark or two results of the same task.
    """
    if benchmark not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {benchmark!r}; expected one of {', '.join(BENCHMARKS)}")
    spec = BENCHMARKS[benchmark]
    by_task: dict[str, Mapping[str, Any]] = {}
    for result in results:
        if result["task"] in by_task:
            raise ValueError(f"two results for task {result['task']!r}; pass one per task")
        by_task[result["task"]] = result
    tasks: dict[str, dict[str, Any]] = {}
    for name in spec.tasks:
        if name not in by_task:
            continue
        expected = _benchmark_languages(name, benchmark)
        evaluated = by_task[name]["languages"]
        tasks[name] = {
            "score": task_score(by_task[name]),
            "metrics": list(TASK_SCORE_METRICS.get(name, (by_task[name]["metric"],))),
            "num_languages": len(evaluated),
            "missing_languages": None if expected is None else [lang for lang in expected if lang not in evaluated],
        }
    categories = {}
    for category, members in spec.categories.items():
        missing = [t for t in members if t not in tasks]
        score = None if missing else _mean([tasks[t]["score"] for t in members])
        categories[category] = {"score": score, "tasks": list(members), "missing_tasks": missing}
    complete = len(tasks) == len(spec.tasks)
    return {
        "benchmark": benchmark,
        "tasks": tasks,
        "categories": categories,
        "overall": _mean([t["score"] for t in tasks.values()]) if complete else None,
        "overall_categories": _mean([c["score"] for c in categories.values()]) if complete else None,
        "ignored": sorted(t for t in by_task if t not in spec.tasks),
    }


def _show(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def format_benchmark_table(table: Mapping[str, Any]) -> str:
    """A Markdown table of ``benchmark_table``'s result: one row per task, category and overall score."""
    lines = [f"| {table['benchmark']} | score | languages |", "|---|---:|---:|"]
    for category, entry in table["categories"].items():
        for task in entry["tasks"]:
            info = table["tasks"].get(task)
            if info is None:
                lines.append(f"| {task} | – | – |")
                continue
            short = f" ({len(info['missing_languages'])} missing)" if info["missing_languages"] else ""
            lines.append(f"| {task} | {_show(info['score'])} | {info['num_languages']}{short} |")
        lines.append(f"| **{category}** | {_show(entry['score'])} | |")
    lines.append(f"| **overall (mean of tasks)** | {_show(table['overall'])} | |")
    lines.append(f"| overall_categories (mean of categories) | {_show(table['overall_categories'])} | |")
    return "\n".join(lines) + "\n"
