"""The layer study's arithmetic: DLFA's gain over ``last`` per task and fused layer k, and its correlation with probe values.

A layer study is one study per task whose systems are ``last`` (the baseline) and DLFA fusing
the last layer with layer k, for several k (plain and gated). Each system's gain is the study's
paired difference from the baseline on one average (by default the transfer languages), with
its 95% interval and Holm-corrected significance (``crossling.analysis.stats``). Whether a
layer's probe values (``crossling probe``: retrieval, CKA to English) predict the gain at that
layer is measured by Spearman's and Pearson's correlation over the (task, k) cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LayerCell:
    """DLFA's gain over ``last`` for one task and fused layer.

    Args:
        task: The study's target task.
        system: The study system's name.
        layer: The fused lower layer k.
        gated: Whether the variant starts from the baseline (``aggregation.gate``).
        diff: Mean paired difference from ``last`` (points of the task's metric).
        low: Lower end of its 95% interval.
        high: Upper end.
        p_holm: Holm-corrected p-value of the difference.
        significant: ``p_holm < 0.05``.
    """

    task: str
    system: str
    layer: int
    gated: bool
    diff: float
    low: float
    high: float
    p_holm: float
    significant: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def layer_cells(
    task: str,
    study: Mapping[str, Any],
    aggregations: Mapping[str, Mapping[str, Any]],
    *,
    average: str = "transfer",
) -> list[LayerCell]:
    """The study's DLFA systems as cells, ordered by (gated, layer).

    ``study`` is a ``study.json`` (schema ``crossling.study/1``) whose baseline is ``last``;
    ``aggregations[system]`` is that system's ``aggregation`` config section. Systems that are
    not DLFA (other strategies) are left out; ``ValueError`` if the baseline is not ``last`` or
    ``average`` is not one the study reports.
    """
    baseline = study["baseline"]
    if aggregations.get(baseline, {}).get("strategy") != "last":
        raise ValueError(f"the study's baseline {baseline!r} is not the last layer (aggregation.strategy: last)")
    cells = []
    for system, comparison in study["comparisons"].items():
        aggregation = aggregations.get(system, {})
        if aggregation.get("strategy") != "dlfa":
            continue
        averages = comparison["averages"]
        if average not in averages:
            raise ValueError(f"{system}: no {average!r} average in the study (it has {', '.join(averages)})")
        entry = averages[average]
        cells.append(
            LayerCell(
                task=task,
                system=system,
                layer=int(aggregation["layer"]),
                gated=aggregation.get("gate", "none") not in (None, "none"),
                diff=float(entry["diff"]),
                low=float(entry["low"]),
                high=float(entry["high"]),
                p_holm=float(entry["p_holm"]),
                significant=bool(entry["significant"]),
            )
        )
    return sorted(cells, key=lambda c: (c.gated, c.layer))


def probe_gain_correlation(cells: Sequence[LayerCell], probe_values: Mapping[int, float]) -> dict[str, Any]:
    """Spearman's and Pearson's correlation between a layer's probe value and DLFA's gain there.

    One point per cell whose layer the probe measured. ``scipy.stats.spearmanr`` and
    ``pearsonr`` give the coefficients and their p-values; fewer than 3 points, or a constant
    side, give ``None`` (no correlation is defined).
    """
    from scipy import stats

    points = [(probe_values[c.layer], c.diff) for c in cells if c.layer in probe_values]
    out: dict[str, Any] = {"n": len(points), "spearman": None, "pearson": None}
    if len(points) < 3:
        return out
    xs, ys = zip(*points, strict=True)
    if len(set(xs)) < 2 or len(set(ys)) < 2:
        return out
    spearman, pearson = stats.spearmanr(xs, ys), stats.pearsonr(xs, ys)
    out["spearman"] = {"r": float(spearman.statistic), "p": float(spearman.pvalue)}
    out["pearson"] = {"r": float(pearson.statistic), "p": float(pearson.pvalue)}
    return out
