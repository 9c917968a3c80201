"""Plots of results: grouped bar chart of a metric per language and system (matplotlib, PNG)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from crossling.utils.io import atomic_path


def per_language_bars(results: Mapping[str, Mapping[str, Any]], path: Path, *, title: str = "",
                      chance: float | None = None) -> Path:
    """Grouped bars: x = language, one bar per system; an optional dashed line at chance level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = list(results)
    languages: list[str] = []
    for result in results.values():
        languages += [lang for lang in result["languages"] if lang not in languages]
    metric = results[systems[0]]["metric"]
    width = 0.8 / max(len(systems), 1)
    x = np.arange(len(languages))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(languages) * max(1, len(systems) / 2)), 3.6))
    for i, system in enumerate(systems):
        values = [results[system]["languages"].get(lang, {}).get(metric, np.nan) for lang in languages]
        ax.bar(x + (i - (len(systems) - 1) / 2) * width, values, width, label=system)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xticks(x, languages)
    ax.set_ylabel(metric)
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))  # outside: never hides a bar
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path
