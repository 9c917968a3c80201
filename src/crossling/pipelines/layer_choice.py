"""``aggregation.layer: auto``: choose DLFA's fusion layer from the layer probe before the model is built, and record it.

The probe runs on the pretrained encoder and the ``probe`` section's data (default: the
template benchmark's dev split), never on the split the target task is evaluated on. The
choice, its rule and the probe values behind it go to ``<run>/layer_choice.json``, which
``results.json`` (``aggregation.layer_choice``) and ``manifest.json`` repeat; a rerun or
``crossling evaluate`` reads it back instead of probing again.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from crossling.analysis.layers import choose_layer
from crossling.config.loader import to_dict
from crossling.config.schema import ExperimentConfig
from crossling.errors import ConfigError
from crossling.pipelines.probe import load_model_target, run_probe
from crossling.utils.distributed import from_main, is_main_process, process_count
from crossling.utils.io import atomic_write_json, read_json, sha256_json

logger = logging.getLogger(__name__)

#: The record's file name in the run directory.
LAYER_CHOICE_FILE = "layer_choice.json"
#: What the record says when no lower layer retrieves better than the last.
PREMISE_FAILS = "DLFA's premise does not hold for this encoder: no lower layer retrieves better than the last layer"


def _probe_key(config: ExperimentConfig) -> str:
    """What the choice depends on: the encoder, the probe data and the retrieval settings."""
    return sha256_json(
        {
            "model": to_dict(config.model),
            "probe": to_dict(config.probe),
            # The probe scores whole matrices: the top-k search (retrieval.index) does not enter.
            "retrieval": {k: v for k, v in to_dict(config.retrieval).items() if k != "index"},
            "precision": config.training.mixed_precision,
        }
    )


def check_probe_data(config: ExperimentConfig) -> None:
    """``ConfigError`` when the probe would read the target task's evaluated split (the choice must use dev data only)."""
    if config.probe.task == config.task.name and config.probe.split == config.task.eval_split:
        raise ConfigError(
            f"probe.split: aggregation.layer auto would choose k on {config.task.name}'s evaluated "
            f"{config.task.eval_split} split; probe another task or split (e.g. probe.split: dev)"
        )


def choose_and_record(config: ExperimentConfig, run_dir: Path) -> dict[str, Any]:
    """Probe the pretrained encoder, choose k (``analysis.layers.choose_layer``), write and return the record."""
    check_probe_data(config)
    result = run_probe(load_model_target(config.model), config)
    choice = choose_layer(result)
    record = {
        "layer": choice.layer,
        "premise_holds": choice.premise_holds,
        "rule": choice.rule,
        "note": None if choice.premise_holds else PREMISE_FAILS,
        "retrieval_by_layer": [round(value, 3) for value in choice.retrieval],
        "language_id_by_layer": [round(s.language_id.mean, 3) for s in result.layers],
        "cka_by_layer": [round(s.cka_mean, 4) for s in result.layers],
        "probe": {**result.data, "seeds": list(result.seeds)},
        "key": _probe_key(config),
    }
    atomic_write_json(run_dir / LAYER_CHOICE_FILE, record)
    return record


def read_layer_choice(run_dir: Path) -> dict[str, Any] | None:
    """The recorded choice of a run directory, or ``None`` when its layer was not chosen automatically."""
    path = run_dir / LAYER_CHOICE_FILE
    return read_json(path) if path.is_file() else None


def resolve_layer(config: ExperimentConfig, run_dir: Path) -> ExperimentConfig:
    """``config`` with ``aggregation.layer: auto`` replaced by the chosen layer (unchanged otherwise).

    The recorded choice is reused when it was made for the same encoder, probe data and
    settings; otherwise the probe runs (on the main process) and the choice is recorded. The run log says which k
    was chosen and, where it is so, that DLFA's premise does not hold for this encoder.
    """
    if config.aggregation.layer != "auto":
        return config
    if process_count() > 1:
        check_probe_data(config)  # on every process: a bad file fails them all alike
    record = None
    if is_main_process():  # several processes: the main one reads or probes and records, the others take it
        record = read_layer_choice(run_dir)
        if record is None or record.get("key") != _probe_key(config):
            record = choose_and_record(config, run_dir)
    record = from_main(record)
    retrieval = record["retrieval_by_layer"]
    logger.info(
        "aggregation.layer auto: k = %d (probe retrieval %.1f%% at k, %.1f%% at the last layer, on %s %s)",
        record["layer"],
        retrieval[record["layer"]],
        retrieval[-1],
        record["probe"]["task"],
        record["probe"]["split"],
    )
    if not record["premise_holds"]:
        logger.warning(
            "%s (best lower layer %d: %.1f%%, last layer: %.1f%%)",
            PREMISE_FAILS,
            record["layer"],
            retrieval[record["layer"]],
            retrieval[-1],
        )
    return dataclasses.replace(config, aggregation=dataclasses.replace(config.aggregation, layer=record["layer"]))


def manifest_entry(config: ExperimentConfig, run_dir: Path) -> dict[str, Any]:
    """``{"layer_choice": record}`` when k was chosen automatically (for the manifest and results), else ``{}``."""
    record = read_layer_choice(run_dir) if config.aggregation.layer == "auto" else None
    return {} if record is None else {"layer_choice": {key: value for key, value in record.items() if key != "key"}}


def aggregation_entry(config: ExperimentConfig, run_dir: Path) -> dict[str, Any]:
    """``results.json``'s ``aggregation``: the configured section, plus ``layer_choice`` when k was chosen automatically."""
    return {**to_dict(config.aggregation), **manifest_entry(config, run_dir)}
