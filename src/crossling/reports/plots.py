"""Plots of results: per-language bars (values on top, 95% interval whiskers where known), per-epoch dev curves and gain-vs-distance scatters (matplotlib, PNG)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from crossling.utils.io import atomic_path


def per_language_bars(
    results: Mapping[str, Mapping[str, Any]], path: Path, *, title: str = "", chance: float | None = None
) -> Path:
    """Grouped bars: x = language, then the average over languages; one bar per system, its value on top.

    An optional dashed line marks chance level.
    """
    metric = next(iter(results.values()))["metric"]
    values = {
        system: {
            **{lang: (scores.get(metric, np.nan), None, None) for lang, scores in result["languages"].items()},
            # the macro average over languages, as the table's "avg (all)"
            "avg": (result["summary"].get("macro_avg") or np.nan, None, None),
        }
        for system, result in results.items()
    }
    fig = _bars(values, metric=metric, title=title, chance=chance)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    _pyplot().close(fig)
    return path


def _pyplot() -> Any:
    """matplotlib's pyplot on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    """The figure as PNG bytes (closed afterwards)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    _pyplot().close(fig)
    return buffer.getvalue()


def interval_bars_png(
    values: Mapping[str, Mapping[str, tuple[float, float | None, float | None]]], *, metric: str, title: str = ""
) -> bytes:
    """Grouped bars per language and system with 95% interval whiskers; PNG bytes.

    ``values[system][language] = (mean, low, high)``; ``None`` bounds draw no whisker (one seed).
    """
    return _png(_bars(values, metric=metric, title=title))


def _bars(
    values: Mapping[str, Mapping[str, tuple[float, float | None, float | None]]],
    *,
    metric: str,
    title: str,
    chance: float | None = None,
) -> Any:
    """The grouped-bar figure of ``interval_bars_png`` (whiskers where bounds are given, chance line if given)."""
    plt = _pyplot()
    systems = list(values)
    languages: list[str] = []
    for per_language in values.values():
        languages += [lang for lang in per_language if lang not in languages]
    width = 0.8 / max(len(systems), 1)
    x = np.arange(len(languages))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(languages) * max(1, len(systems) / 2)), 3.6))
    for i, system in enumerate(systems):
        cells = [values[system].get(lang, (np.nan, None, None)) for lang in languages]
        means = np.array([c[0] for c in cells], dtype=float)
        lows = np.array([c[1] if c[1] is not None else c[0] for c in cells], dtype=float)
        highs = np.array([c[2] if c[2] is not None else c[0] for c in cells], dtype=float)
        whiskers = any(c[1] is not None for c in cells)
        bars = ax.bar(
            x + (i - (len(systems) - 1) / 2) * width,
            means,
            width,
            label=system,
            yerr=np.vstack([means - lows, highs - means]) if whiskers else None,
            capsize=2,
            error_kw={"linewidth": 0.8},
        )
        ax.bar_label(bars, fmt="%.1f", fontsize=6, padding=1)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xticks(x, languages)
    ax.set_ylabel(metric)
    ax.set_ylim(0, 105)  # room for the values on 100% bars
    ax.set_title(f"{title} ({metric})" if title else metric)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))  # outside: never hides a bar
    fig.tight_layout()
    return fig


def dev_curves_png(curves: Mapping[str, list[tuple[float, float]]], *, metric: str, title: str = "") -> bytes:
    """Dev score after each epoch, one line per run: ``curves[run] = [(epoch, score), ...]``; PNG bytes."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    for label, points in curves.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    ax.xaxis.get_major_locator().set_params(integer=True)  # epochs are whole numbers
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"dev {metric}")
    ax.set_title(title)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return _png(fig)


def gain_distance_png(points: Mapping[str, tuple[float, float]], *, xlabel: str, ylabel: str, title: str = "") -> bytes:
    """Scatter of ``points[language] = (distance, gain)``, each point labelled with its language; PNG bytes.

    A dashed line marks zero gain and a least-squares line shows the trend.
    """
    plt = _pyplot()
    x = np.array([p[0] for p in points.values()], dtype=float)
    y = np.array([p[1] for p in points.values()], dtype=float)
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    ax.scatter(x, y)
    for language, (distance, gain) in points.items():
        ax.annotate(language, (distance, gain), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.axhline(0.0, color="grey", linestyle="--", linewidth=1)
    if len(points) >= 2 and np.ptp(x) > 0:
        slope, intercept = np.polyfit(x, y, 1)
        grid = np.linspace(x.min(), x.max(), 2)
        ax.plot(grid, slope * grid + intercept, color="tab:orange", linewidth=1, label="least squares")
        ax.legend(fontsize="small")
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return _png(fig)


def diversity_png(
    points: list[tuple[int, str, float, float, float]], *, metric: str, average: str = "transfer"
) -> bytes:
    """Each system's mean with its 95% interval at its k (subsets side by side), and the mean over subsets per k."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ks = sorted({k for k, *_ in points})
    for k in ks:
        at_k = [p for p in points if p[0] == k]
        offsets = np.linspace(-0.15, 0.15, len(at_k)) if len(at_k) > 1 else [0.0]
        for offset, (_, _, mean, low, high) in zip(offsets, at_k, strict=True):
            first = k == ks[0] and offset == offsets[0]
            ax.errorbar(
                k + offset,
                mean,
                yerr=[[mean - low], [high - mean]],
                fmt="o",
                color="tab:blue",
                capsize=3,
                label="a subset (95% interval)" if first else None,
            )
    means = [float(np.mean([p[2] for p in points if p[0] == k])) for k in ks]
    ax.plot(ks, means, color="tab:orange", marker="s", label="mean over subsets")
    ax.set_xticks(ks)
    ax.set_xlabel("k (distinct intermediate tasks, equal budget)")
    ax.set_ylabel(f"{metric} ({average} average)")
    ax.set_title(f"{metric} against task diversity (95% intervals per subset)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return _png(fig)
