"""The layer study's report: a task x k heatmap of DLFA's gain over ``last`` with significance marks, a table, JSON.

``crossling layer-study STUDY_DIR [STUDY_DIR ...] --output-dir D [--probe PROBE_DIR]`` reads one
study per task (``study.json`` and each system's ``config.yaml``), and writes
``layer_study.json``, ``layer_study.md`` and ``layer_study.png`` into ``D``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crossling.analysis.layer_study import LayerCell, layer_cells, probe_gain_correlation
from crossling.config.loader import load_raw
from crossling.errors import ConfigError
from crossling.reports.html import STUDY_SCHEMA
from crossling.reports.plots import _pyplot
from crossling.utils.io import atomic_path, atomic_write_json, atomic_write_text, read_json


def read_layer_study(study_dir: Path, *, average: str = "transfer") -> list[LayerCell]:
    """The DLFA cells of one study directory (its ``study.json`` and the first run of each system).

    ``ConfigError`` naming the directory when ``study.json`` or a system's run is missing, or the
    study is not a layer study (its baseline is not ``last``).
    """
    path = study_dir / "study.json"
    if not path.is_file():
        raise ConfigError(f"{study_dir}: no study.json (run the study with seeds first)")
    study = read_json(path)
    if study.get("schema") != STUDY_SCHEMA:
        raise ConfigError(f"{path}: schema {study.get('schema')!r}, expected {STUDY_SCHEMA!r}")
    aggregations, task = {}, None
    for system in study["systems"]:
        runs = sorted(study_dir.glob(f"{system},seed=*/config.yaml"))
        if not runs:
            raise ConfigError(f"{study_dir}: no run of system {system!r} ({system},seed=<s>/config.yaml)")
        raw = load_raw(runs[0])
        aggregations[system] = raw.get("aggregation", {})
        task = task or raw.get("task", {}).get("name")
    try:
        return layer_cells(str(task), study, aggregations, average=average)
    except ValueError as exc:
        raise ConfigError(f"{study_dir}: {exc}") from None


def probe_retrieval(probe_dir: Path) -> dict[int, float]:
    """``{layer: mean retrieval accuracy}`` from ``crossling probe``'s ``probe.json``."""
    path = probe_dir / "probe.json"
    if not path.is_file():
        raise ConfigError(f"{probe_dir}: no probe.json (run crossling probe first)")
    return {int(entry["layer"]): float(entry["retrieval_mean"]) for entry in read_json(path)["layers"]}


def heatmap_png(cells: Sequence[LayerCell], path: Path, *, metric: str = "") -> Path:
    """Rows = task (gated variants as their own rows), columns = k; colour = gain over ``last``, ``*`` = significant."""
    plt = _pyplot()
    rows = sorted({(c.task, c.gated) for c in cells})
    layers = sorted({c.layer for c in cells})
    grid = np.full((len(rows), len(layers)), np.nan)
    for c in cells:
        grid[rows.index((c.task, c.gated)), layers.index(c.layer)] = c.diff
    bound = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0
    fig, ax = plt.subplots(figsize=(max(4.0, 0.6 * len(layers) + 2), 0.6 * len(rows) + 1.6))
    image = ax.imshow(grid, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
    for c in cells:
        mark = "*" if c.significant else ""
        y, x = rows.index((c.task, c.gated)), layers.index(c.layer)
        ax.text(x, y, f"{c.diff:+.1f}{mark}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(layers)), [str(k) for k in layers])
    ax.set_yticks(range(len(rows)), [f"{task}{' (gated)' if gated else ''}" for task, gated in rows])
    ax.set_xlabel("fused layer k")
    ax.set_title(f"DLFA - last{f' ({metric})' if metric else ''}; * Holm p < 0.05")
    fig.colorbar(image, ax=ax, shrink=0.8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path


def layer_study_markdown(cells: Sequence[LayerCell], correlation: dict[str, Any] | None, *, average: str) -> str:
    """The table (one row per cell) and a sentence per finding, worded by significance."""
    lines = [
        f"# Layer study: DLFA - last on the {average} average (95% interval, Holm p)",
        "",
        "| task | k | gated | DLFA - last | 95% interval | p (Holm) |",
        "|---|---:|---|---:|---|---:|",
    ]
    for c in cells:
        mark = "*" if c.significant else ""
        lines.append(
            f"| {c.task} | {c.layer} | {'yes' if c.gated else 'no'} | {c.diff:+.2f}{mark} | "
            f"[{c.low:+.2f}, {c.high:+.2f}] | {c.p_holm:.3g} |"
        )
    helped = [c for c in cells if c.significant and c.diff > 0]
    hurt = [c for c in cells if c.significant and c.diff < 0]
    lines += ["", _finding("helps", helped), _finding("hurts", hurt)]
    if correlation is not None:
        lines.append(_correlation_sentence(correlation))
    return "\n".join(lines) + "\n"


def _finding(verb: str, cells: Sequence[LayerCell]) -> str:
    if not cells:
        return f"No k significantly {verb[:-1]}s transfer (Holm-corrected, 95%)."
    where = ", ".join(f"{c.task} k={c.layer}{' gated' if c.gated else ''}" for c in cells)
    return f"DLFA significantly {verb} transfer at: {where}."


def _correlation_sentence(correlation: dict[str, Any]) -> str:
    if correlation["spearman"] is None:
        return f"Probe retrieval vs gain: not defined ({correlation['n']} points)."
    s, p = correlation["spearman"], correlation["pearson"]
    return (
        f"Probe retrieval vs gain over {correlation['n']} (task, k) points: Spearman {s['r']:+.2f} (p {s['p']:.3g}), "
        f"Pearson {p['r']:+.2f} (p {p['p']:.3g})."
    )


def write_layer_study(
    study_dirs: Sequence[Path], output_dir: Path, *, probe_dir: Path | None = None, average: str = "transfer"
) -> dict[str, Path]:
    """Read every study, then write ``layer_study.json``, ``.md`` and ``.png`` into ``output_dir``."""
    cells = [cell for study_dir in study_dirs for cell in read_layer_study(study_dir, average=average)]
    if not cells:
        raise ConfigError("no DLFA systems in the given studies (a layer study has last and dlfa variants)")
    correlation = probe_gain_correlation(cells, probe_retrieval(probe_dir)) if probe_dir is not None else None
    paths = {
        "json": output_dir / "layer_study.json",
        "markdown": output_dir / "layer_study.md",
        "plot": output_dir / "layer_study.png",
    }
    atomic_write_json(
        paths["json"],
        {"average": average, "cells": [c.as_dict() for c in cells], "probe_correlation": correlation},
    )
    atomic_write_text(paths["markdown"], layer_study_markdown(cells, correlation, average=average))
    heatmap_png(cells, paths["plot"])
    return paths
