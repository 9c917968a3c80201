"""Run directories: one crossling run at a time, the config they hold, and what a new config invalidates."""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crossling.config.loader import dump_config, load_config, load_raw, to_dict
from crossling.config.schema import ExperimentConfig
from crossling.errors import ConfigError
from crossling.utils.distributed import from_main, is_main_process
from crossling.utils.io import atomic_write_text, read_json, sha256_json
from crossling.utils.locks import LockBusy, exclusive_lock

logger = logging.getLogger(__name__)

#: The resolved config a run directory holds, and its hash.
CONFIG_FILE, HASH_FILE = "config.yaml", "config_hash"
#: What a run writes from its config (globs under the run directory); a new config removes them.
OUTPUTS = ("results.json", "manifest.json", "predictions", "predictions-*", "logits", "evaluation-*.json", "stages")


def run_directory(config: ExperimentConfig) -> Path:
    """``output_dir/name``."""
    return config.output_dir / config.name


def config_hash(config: ExperimentConfig) -> str:
    """Hash of the resolved config, ignoring where the run is written and where its metrics are also tracked."""
    data = to_dict(config)
    data.pop("output_dir", None)
    data.pop("tracking", None)  # where metrics are also sent does not change the run
    if not data.get("ensembles"):
        data.pop("ensembles", None)  # configs from before ensembles could be declared keep their hash
    stages = [stage.get("task") for stage in data.get("intermediate") or () if isinstance(stage, dict)]
    for task in [data.get("task"), *stages]:
        if isinstance(task, dict) and not task.get("train_language_selection"):
            task.pop("train_language_selection", None)  # so do configs from before language rules
    return sha256_json(_without_later_defaults(data))


#: Settings added after runs were recorded, with the default that behaves as before they existed: left out of the
#: hash at that value (in every section that has them), so a new release does not orphan existing run directories.
ADDED_WITH_DEFAULTS: dict[str, Any] = {"checkpoint_every_minutes": 0.0, "dropout_impl": "torch", "index": "exact"}


def _without_later_defaults(value: Any) -> Any:
    """``value`` without the keys of ``ADDED_WITH_DEFAULTS`` that hold their default, at any depth."""
    if isinstance(value, dict):
        return {
            key: _without_later_defaults(item)
            for key, item in value.items()
            if not (key in ADDED_WITH_DEFAULTS and item == ADDED_WITH_DEFAULTS[key])
        }
    if isinstance(value, list):
        return [_without_later_defaults(item) for item in value]
    return value


@contextlib.contextmanager
def claimed(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's lock: `run`, `train` and `evaluate` never work in one directory at once.

    Launched on several processes (``accelerate launch``), the main process holds it for them all
    and every process fails alike when another crossling process has it.
    """
    with contextlib.ExitStack() as stack:
        busy = False
        if is_main_process():
            try:
                stack.enter_context(exclusive_lock(run_dir / ".lock", wait=False))
            except LockBusy:
                busy = True
        if from_main(busy):
            raise ConfigError(
                f"{run_dir} is in use by another crossling process; wait for it to finish "
                "(it resumes the same run) or choose another name"
            )
        yield


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{dotted key: leaf value}`` of nested dicts."""
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(_flat(item, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _differences(recorded: Path, config: ExperimentConfig, limit: int = 4) -> str:
    """``"; differs in: a.b (x -> y), ..."`` between a recorded config.yaml and ``config`` (empty if unreadable)."""
    try:
        before = _flat(_without_later_defaults(load_raw(recorded)))
    except (OSError, ConfigError, ValueError):
        return ""
    after = _flat(_without_later_defaults(to_dict(config)))
    keys = sorted(
        k
        for k in set(before) | set(after)
        if k != "output_dir" and before.get(k, "<absent>") != after.get(k, "<absent>")
    )
    if not keys:
        return ""
    shown = [f"{k} ({before.get(k, '<absent>')!r} -> {after.get(k, '<absent>')!r})" for k in keys[:limit]]
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return "; differs in: " + ", ".join(shown) + more


def has_trained(run_dir: Path) -> bool:
    """Whether any stage of the run has written weights or checkpoints (something a config change would waste)."""
    stages = run_dir / "stages"
    return stages.is_dir() and any(path.is_file() for path in stages.rglob("*"))


def _outputs(run_dir: Path) -> list[Path]:
    return sorted({path for pattern in OUTPUTS for path in run_dir.glob(pattern)})


def remove_outputs(run_dir: Path) -> list[Path]:
    """Delete what the run wrote from its config (stages, checkpoints, results, predictions, logits); returns it."""
    removed = _outputs(run_dir)
    for path in removed:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    return removed


def check_config(config: ExperimentConfig, run_dir: Path, *, force: bool) -> str:
    """Check ``config`` against the one the run directory holds; returns its hash (nothing is written).

    The same config continues (resume, or a finished run). A different one may replace the
    old when nothing has been trained under it yet (a run that failed before its first step
    does not hold its directory) or with ``force``; otherwise it is a ``ConfigError`` naming
    the keys that differ.
    """
    digest = config_hash(config)
    previous = _recorded_hash(run_dir)
    if previous != digest and has_trained(run_dir) and not force:
        recorded = run_dir / CONFIG_FILE
        held = (
            f"a run with a different config ({recorded}{_differences(recorded, config)})"
            if previous
            else "trained stages without a recorded config"
        )
        raise ConfigError(f"{run_dir} holds {held}; choose another name, or pass --force to overwrite it")
    return digest


def record_config(config: ExperimentConfig, run_dir: Path, digest: str) -> None:
    """Record ``config`` (of hash ``digest``) as the run directory's; what an older config wrote is removed first."""
    if _recorded_hash(run_dir) == digest:
        return  # resumed or finished: the directory is left as it is
    if removed := remove_outputs(run_dir):
        logger.info("%s: removed what the previous config wrote: %s", run_dir, ", ".join(p.name for p in removed))
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / CONFIG_FILE, dump_config(config))
    atomic_write_text(run_dir / HASH_FILE, digest + "\n")


def _recorded_hash(run_dir: Path) -> str | None:
    hash_file = run_dir / HASH_FILE
    return hash_file.read_text().strip() if hash_file.is_file() else None


def finished_results(run_dir: Path, digest: str) -> dict[str, Any] | None:
    """The run's results if they exist and were produced by the config of hash ``digest``, else ``None``."""
    path = run_dir / "results.json"
    if not path.is_file():
        return None
    try:
        results = read_json(path)
    except (OSError, ValueError):
        return None
    return results if isinstance(results, dict) and results.get("config_hash") == digest else None


def require_run_directory(run_dir: Path) -> Path:
    """``run_dir/config.yaml``; a ``ConfigError`` if ``run_dir`` holds none (it is no run directory)."""
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"{run_dir}: not a run directory (no {CONFIG_FILE})")
    return path


def recorded_config(run_dir: Path) -> ExperimentConfig:
    """The config a run directory was trained with; its ``config.yaml`` must still match the recorded hash."""
    path = require_run_directory(run_dir)
    config = load_config(path)
    if _recorded_hash(run_dir) not in (None, config_hash(config)):
        raise ConfigError(
            f"{path}: the run was not trained with this config (it was edited afterwards); "
            "restore it, or start a new run with `crossling run`"
        )
    return config
