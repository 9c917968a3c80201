"""Experiment tracking through accelerate's own trackers (TensorBoard, MLflow, W&B), chosen by ``tracking.report_to``."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accelerate import Accelerator

from crossling.config.schema import TrackingConfig
from crossling.errors import ConfigError

#: Package each tracker needs (``pip install 'crossling[tracking]'`` installs tensorboard).
TRACKER_PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}


def _hparam(value: Any) -> int | float | str | bool:
    """A config leaf as TensorBoard's hparams accept it (lists, paths and None become text)."""
    return value if isinstance(value, int | float | str | bool) else str(value)


@dataclass(frozen=True)
class Tracking:
    """Where and under which names one run's metrics go.

    Args:
        report_to: accelerate tracker names.
        logging_dir: Directory of the trackers' logs.
        project: Project (TensorBoard run directory) name: the run's name.
        prefix: Prefix of every metric name (the stage, e.g. ``stage1-tmpl-nli``).
        hparams: The run's flattened config, stored with the run.
    """

    report_to: tuple[str, ...]
    logging_dir: Path
    project: str
    prefix: str = ""
    hparams: Mapping[str, Any] = field(default_factory=dict)

    def accelerator_kwargs(self) -> dict[str, Any]:
        """``Accelerator(**...)`` arguments: ``log_with`` and ``project_dir``; a missing package is a ConfigError."""
        for name in self.report_to:
            if importlib.util.find_spec(TRACKER_PACKAGES[name]) is None:
                raise ConfigError(
                    f"tracking.report_to: {name} needs the {TRACKER_PACKAGES[name]!r} package "
                    "(pip install 'crossling[tracking]' for tensorboard)"
                )
        return {"log_with": list(self.report_to), "project_dir": str(self.logging_dir)}

    def start(self, accelerator: Accelerator) -> None:
        """``init_trackers`` with the run's name and its config as hyperparameters."""
        accelerator.init_trackers(self.project, config={k: _hparam(v) for k, v in self.hparams.items()})

    def log(self, accelerator: Accelerator, values: Mapping[str, float], step: int) -> None:
        """``accelerator.log`` with every name under this stage's prefix."""
        accelerator.log({f"{self.prefix}/{k}" if self.prefix else k: v for k, v in values.items()}, step=step)


def tracking_for(config: TrackingConfig, run_dir: Path, project: str, hparams: Mapping[str, Any]) -> Tracking | None:
    """The run's ``Tracking`` (None when ``report_to`` is empty: tracking is off by default)."""
    if not config.report_to:
        return None
    return Tracking(tuple(config.report_to), config.logging_dir or run_dir / "tracking", project, hparams=hparams)


def log_final_metrics(
    tracking: Tracking,
    accelerator: Accelerator,
    per_language: Mapping[str, Mapping[str, Any]],
    summary: Mapping[str, Any],
    step: int,
) -> None:
    """Send the final per-language metrics and the averages (``<prefix>/<lang>/<metric>``, ``<prefix>/avg_transfer``).

    ``accelerator`` is a fresh one made with ``tracking.accelerator_kwargs()``; its trackers end here.
    """
    values = {
        f"{lang}/{name}": float(v)
        for lang, scores in per_language.items()
        for name, v in scores.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and name != "seconds"
    }
    values.update({key: float(summary[key]) for key in ("macro_avg", "avg_transfer") if summary.get(key) is not None})
    tracking.start(accelerator)
    tracking.log(accelerator, values, step)
    accelerator.end_training()
