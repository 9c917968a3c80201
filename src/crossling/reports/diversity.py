"""The diversity axis in a report: the target metric against the number of intermediate tasks k, with intervals."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crossling.reports.plots import diversity_png
from crossling.utils.io import atomic_write_bytes, read_json

#: Written by a study with a diversity axis (``crossling.pipelines.diversity``): each system's k and tasks.
DIVERSITY_FILE = "diversity.json"
#: The study average plotted against k: the metric over the transfer languages (the question is transfer).
AVERAGE = "transfer"


def diversity_points(
    study: Mapping[str, Any], diversity: Mapping[str, Any], average: str = AVERAGE
) -> list[tuple[int, str, float, float, float]]:
    """``(k, system, mean, low, high)`` of every diversity system the study has, from its ``average`` interval."""
    points = []
    for system, entry in diversity["systems"].items():
        cell = study["systems"].get(system, {}).get("averages", {}).get(average)
        if cell is not None:
            points.append((int(entry["k"]), system, cell["mean"], cell["low"], cell["high"]))
    return sorted(points)


def diversity_points_of(directory: Path, study: Mapping[str, Any] | None) -> list[tuple[int, str, float, float, float]]:
    """``diversity_points`` of a study directory; none without a study or a ``diversity.json``."""
    path = directory / DIVERSITY_FILE
    if study is None or not path.is_file():
        return []
    return diversity_points(study, read_json(path))


def diversity_section(directory: Path, study: Mapping[str, Any] | None) -> list[str]:
    """Markdown lines (and ``diversity.png``) for a study with a diversity axis; none without one."""
    points = diversity_points_of(directory, study)
    if not points or study is None:
        return []
    atomic_write_bytes(directory / "diversity.png", diversity_png(points, metric=study["metric"]))
    rows = [f"| {k} | {system} | {mean:.1f} [{low:.1f}, {high:.1f}] |" for k, system, mean, low, high in points]
    return [
        "## Task diversity",
        "",
        f"{study['metric']} averaged over the transfer languages, mean over seeds [95% interval], per system "
        "of the diversity axis (every system's mixture stage has the same number of steps):",
        "",
        "| k | system | transfer average |",
        "|---:|---|---|",
        *rows,
        "",
        "![metric against k](diversity.png)",
        "",
    ]
