"""Resumable checkpoints without pickle: model/optimizer tensors in safetensors, the rest in JSON, with checksums."""

from __future__ import annotations

import logging
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from crossling.utils.distributed import from_main
from crossling.utils.io import atomic_directory, atomic_write_json, read_json, sha256_file

logger = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "checkpoint-"
MANIFEST = "manifest.json"


@dataclass
class TrainState:
    """Where training stands: enough, with the tensors, to continue exactly where it stopped.

    Args:
        global_step: Optimiser steps done.
        epoch: Current epoch (0-based).
        batches_done: Forward batches of the current epoch already consumed.
        best_metric: Best dev score so far (``None`` before the first evaluation).
        best_step: Step of the best dev score.
        dev_history: ``[step, epoch, score]`` for every dev evaluation.
        embedding_decay: The active vocabulary's running decay ``d`` of its frozen rows (1.0 without one).
        grad_scaler: The fp16 gradient scaler's state (scale, growth tracker), None without one.
    """

    global_step: int = 0
    epoch: int = 0
    batches_done: int = 0
    best_metric: float | None = None
    best_step: int | None = None
    dev_history: list[list[float]] | None = None
    embedding_decay: float = 1.0
    grad_scaler: dict[str, Any] | None = None


def model_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Contiguous, de-aliased copy of a model's state dict (safetensors refuses shared storage)."""
    return {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}


def save_model_weights(model: torch.nn.Module, path: Path) -> None:
    """Write the model's weights to a safetensors file (atomically)."""
    from crossling.utils.io import atomic_path

    with atomic_path(path) as tmp:
        save_file(model_state(model), str(tmp), metadata={"format": "pt"})


def load_model_weights(model: torch.nn.Module, path: Path) -> None:
    """Load safetensors weights into ``model`` (every key must match)."""
    model.load_state_dict(load_file(str(path)), strict=True)


def _optimizer_to_safetensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entry in state["state"].items():
        for name, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{index}.{name}"] = value.detach().contiguous().clone()
            else:
                scalars.setdefault(str(index), {})[name] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in state["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def _optimizer_from_safetensors(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    for index, entries in meta["scalars"].items():
        state.setdefault(int(index), {}).update(entries)
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in meta["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_checkpoint(
    directory: Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    state: TrainState,
    keep: int = 1,
) -> Path:
    """Write ``directory/checkpoint-<step>`` atomically and prune older ones (keeping ``keep``).

    Holds model weights, optimizer moments, scheduler, train state and every RNG state, with a
    manifest of SHA-256 checksums so a damaged checkpoint is detected instead of loaded.
    """
    target = directory / f"{CHECKPOINT_PREFIX}{state.global_step:08d}"
    opt_tensors, opt_meta = _optimizer_to_safetensors(optimizer)
    with atomic_directory(target) as tmp:
        save_file(model_state(model), str(tmp / "model.safetensors"))
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            for i, s in enumerate(torch.cuda.get_rng_state_all()):
                rng[f"cuda{i}"] = s
        save_file(opt_tensors or {"_empty": torch.zeros(0)}, str(tmp / "optimizer.safetensors"))
        save_file(rng, str(tmp / "rng.safetensors"))
        np_state = np.random.get_state()
        atomic_write_json(
            tmp / "state.json",
            {
                "train_state": asdict(state),
                "optimizer": opt_meta,
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "python_random": _jsonable(random.getstate()),
                "numpy_random": [np_state[0], np_state[1].tolist(), *np_state[2:]],
            },
        )
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir())}
        atomic_write_json(tmp / MANIFEST, {"files": files})
    for old in list_checkpoints(directory)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return target


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _tuplify(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value


def list_checkpoints(directory: Path) -> list[Path]:
    """Checkpoint directories under ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_dir() and p.name.startswith(CHECKPOINT_PREFIX))


def verify_checkpoint(path: Path) -> bool:
    """True if every file listed in the checkpoint's manifest exists with the recorded checksum."""
    try:
        files = read_json(path / MANIFEST)["files"]
        return all(sha256_file(path / name) == digest for name, digest in files.items())
    except (OSError, KeyError, ValueError):
        return False


def latest_valid_checkpoint(directory: Path) -> Path | None:
    """The newest checkpoint that passes ``verify_checkpoint``; damaged ones are reported and skipped."""
    for path in reversed(list_checkpoints(directory)):
        if verify_checkpoint(path):
            return path
        logger.warning("checkpoint %s is damaged (checksum mismatch or missing file); skipping it", path)
    return None


def load_checkpoint(
    path: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any
) -> TrainState:
    """Restore model, optimizer, scheduler and RNG states from ``path``; returns the train state."""
    load_model_weights(model, path / "model.safetensors")
    meta = read_json(path / "state.json")
    opt_tensors = {k: v for k, v in load_file(str(path / "optimizer.safetensors")).items() if k != "_empty"}
    _optimizer_from_safetensors(optimizer, opt_tensors, meta["optimizer"])
    if scheduler is not None and meta["scheduler"] is not None:
        scheduler.load_state_dict(meta["scheduler"])
    rng = load_file(str(path / "rng.safetensors"))
    torch.set_rng_state(rng["torch"])
    if torch.cuda.is_available():
        cuda = [rng[k] for k in sorted(rng) if k.startswith("cuda")]
        if cuda:
            torch.cuda.set_rng_state_all(cuda)
    random.setstate(_tuplify(meta["python_random"]))
    np_state = meta["numpy_random"]
    np.random.set_state((np_state[0], np.asarray(np_state[1], dtype=np.uint32), *np_state[2:]))
    return TrainState(**meta["train_state"])


def _now() -> float:
    """Seconds on a monotonic clock (a function of its own, so tests move time without sleeping)."""
    return time.monotonic()


class CheckpointSchedule:
    """When a mid-epoch checkpoint is due: every ``every_steps`` optimiser steps, every ``every_minutes``, or both.

    With both, whichever comes first; every checkpoint written (``written``) restarts the minutes
    clock. The processes of a multi-process run must all decide alike (they all enter the
    checkpoint), so the minutes decision is the main process's, sent to the others (``from_main``).
    """

    def __init__(self, every_steps: int, every_minutes: float) -> None:
        self.every_steps = every_steps
        self.every_seconds = 60.0 * every_minutes
        self.last = _now()

    def due(self, step: int) -> bool:
        """Whether a checkpoint is due after optimiser step ``step`` (the same answer on every process)."""
        if self.every_steps and step % self.every_steps == 0:
            return True
        if not self.every_seconds:
            return False
        return bool(from_main(_now() - self.last >= self.every_seconds))

    def written(self) -> None:
        """Restart the minutes clock (after any checkpoint)."""
        self.last = _now()
