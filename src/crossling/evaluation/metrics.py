"""Metrics, one registry: each metric states its formula and takes predictions and references."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

MetricFn = Callable[[Sequence[Any], Sequence[Any]], dict[str, float]]

_METRICS: dict[str, MetricFn] = {}


def register_metric(name: str) -> Callable[[MetricFn], MetricFn]:
    """Decorator adding a metric function to the registry under ``name``."""

    def wrap(fn: MetricFn) -> MetricFn:
        if name in _METRICS:
            raise ValueError(f"metric {name!r} is already registered")
        _METRICS[name] = fn
        return fn

    return wrap


def get_metric(name: str) -> MetricFn:
    """The metric function registered as ``name``."""
    try:
        return _METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(sorted(_METRICS))}") from None


def list_metrics() -> list[str]:
    """Names of all registered metrics."""
    return sorted(_METRICS)


def _check_lengths(predictions: Sequence[Any], references: Sequence[Any]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    if not references:
        raise ValueError("cannot score an empty set of references")


@register_metric("accuracy")
def accuracy(predictions: Sequence[Any], references: Sequence[Any]) -> dict[str, float]:
    """Accuracy in percent: ``100 * mean(pred_i == ref_i)``."""
    _check_lengths(predictions, references)
    correct = sum(p == r for p, r in zip(predictions, references, strict=True))
    return {"accuracy": 100.0 * correct / len(references)}
