"""The stage cache: every training stage stored once under ``$CROSSLING_HOME/stages/<id>/``, shared by all runs.

A stage's id is the hash of everything that determines its weights: the encoder (config and
a digest of its files), the aggregation, the upstream stage's id, the task config and the
fingerprints of its training and dev data (every member's, and the sampling settings, for a
mixture stage), the training config and the seed. Runs and sweep
members whose plans contain the same stage train it once: the first takes the stage's lock
and trains in ``<id>.partial/`` (where its checkpoints are, so a killed stage resumes), and
publishes it by renaming that directory to ``<id>/`` once complete; a second process waits
for the lock, then loads the published weights. A run directory refers to its stages by
id in ``stages/NN-<task>.json``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from crossling.config.loader import to_dict
from crossling.config.schema import ExperimentConfig, ModelConfig, TrainingConfig
from crossling.models.encoder import resolve_model_path
from crossling.tasks.loading import TaskData
from crossling.utils.distributed import is_main_process, wait_for_everyone
from crossling.utils.io import atomic_write_json, read_json, sha256_file, sha256_json
from crossling.utils.locks import LockBusy, exclusive_lock
from crossling.utils.paths import stages_dir

logger = logging.getLogger(__name__)

STAGE_SCHEMA = "crossling.stage/1"
#: What determines a published stage (written into it) and which runs used it, when.
KEY_FILE, USERS_FILE = "stage-key.json", "users.json"
#: Files every complete stage holds (written by ``crossling.training.loop.train_stage``).
COMPLETE_FILES = ("stage.json", "model.safetensors")
#: Task-config keys that only change evaluation, never the trained weights.
EVALUATION_ONLY_TASK_KEYS = ("eval_languages", "extra_languages", "benchmark", "eval_split", "max_eval_examples")
PARTIAL_SUFFIX = ".partial"


def published_dir(stage_id: str) -> Path:
    """Where a complete stage lives."""
    return stages_dir() / stage_id


def partial_dir(stage_id: str) -> Path:
    """Where a stage trains (checkpoints included) until it is published."""
    return stages_dir() / f"{stage_id}{PARTIAL_SUFFIX}"


def _lock_path(stage_id: str) -> Path:
    return stages_dir() / f".{stage_id}.lock"


def is_complete(directory: Path) -> bool:
    """Whether ``directory`` holds a finished stage's weights and report."""
    return all((directory / name).is_file() for name in COMPLETE_FILES)


def _model_files_digest(directory: Path) -> str:
    """SHA-256 over the names and contents of a model directory's files, remembered per (path, size, mtime).

    Hashing a large encoder takes seconds; the memo makes every later stage plan instant.
    """
    files = sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith("."))
    stats = [(p.relative_to(directory).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    memo_key = sha256_json([str(directory.resolve()), stats])
    memo_path = stages_dir() / ".model-digests" / f"{memo_key}.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        return read_json(memo_path)["digest"]
    digest = sha256_json([(name, sha256_file(directory / name)) for name, _, _ in stats])
    atomic_write_json(memo_path, {"directory": str(directory), "digest": digest})
    return digest


def model_identity(model: ModelConfig) -> str:
    """A digest of the encoder's files (local or hub-cached directory), else its hub id and revision."""
    path = Path(resolve_model_path(model.name_or_path))
    if not path.is_dir():
        with contextlib.suppress(Exception):  # not in the local hub cache: identify it by name and revision
            from huggingface_hub import snapshot_download

            path = Path(snapshot_download(model.name_or_path, revision=model.revision, local_files_only=True))
    if path.is_dir():
        return _model_files_digest(path)
    return f"{model.name_or_path}@{model.revision or 'main'}"


def _data_fingerprints(data: TaskData) -> dict[str, str]:
    """Source fingerprints of the data a stage trains and selects on (train languages, dev split).

    None for a kind that trains nothing (a retrieval target): it reads no training data.
    """
    if not data.spec.kind_plugin.fine_tunes:
        return {}
    config = data.config
    splits = [(language, "train") for language in config.train_languages]
    if config.dev_split != "none":
        splits.append((config.train_languages[0], config.dev_split))
    return {f"{language}/{split}": data.source.fingerprint(language, split) for language, split in splits}


def _task_key(data: TaskData) -> dict[str, Any]:
    """The task config of a stage without the keys that only change evaluation."""
    task = {k: v for k, v in to_dict(data.config).items() if k not in EVALUATION_ONLY_TASK_KEYS}
    task.pop("train_language_selection", None)  # why the languages were chosen; the list itself is the identity
    return task


def stage_id(
    config: ExperimentConfig,
    data: TaskData | Sequence[TaskData],
    training: TrainingConfig,
    *,
    index: int,
    upstream: str | None,
    model_digest: str,
    mixture: Mapping[str, Any] | None = None,
) -> str:
    """The content address of one stage of ``config``'s plan (see the module docstring).

    A mixture stage passes its members' task data (in order) and ``mixture``, its sampling
    settings (sampling, temperature, max_steps, dev_evaluations): its id covers every member's
    task config and data fingerprints, and those settings.
    """
    if mixture is None:
        assert isinstance(data, TaskData)
        task: Any = _task_key(data)
        fingerprints: Any = _data_fingerprints(data)
    else:
        members = [data] if isinstance(data, TaskData) else list(data)
        task = [_task_key(member) for member in members]
        fingerprints = [_data_fingerprints(member) for member in members]
    key = {
        "schema": STAGE_SCHEMA,
        "model": to_dict(config.model),
        "model_files": model_digest,
        "aggregation": to_dict(config.aggregation),
        "upstream": upstream,
        "task": task,
        "data": fingerprints,
        "training": _training_key(training),
        "seed": config.seed + index,
        # Model selection scores dev in batches of this size.
        "dev_batch_size": config.evaluation.batch_size,
    }
    if mixture is not None:
        key["mixture"] = dict(mixture)
    return sha256_json(key)[:32]


def _training_key(training: TrainingConfig) -> dict[str, Any]:
    """The training config as it enters a stage id: without ``checkpoint_every_minutes``, and without
    ``dropout_impl`` at its default.

    When checkpoints are written does not change the weights (resume is exact), and leaving the
    key out keeps the ids of stages cached before it existed. ``dropout_impl: fast`` trains other
    weights, so it enters the id; ``torch`` (the behaviour before it existed) does not.
    """
    key = to_dict(training)
    key.pop("checkpoint_every_minutes", None)
    if key.get("dropout_impl") == "torch":
        key.pop("dropout_impl")
    return key


def _describe(stage_id: str, task: str, upstream: str | None) -> dict[str, Any]:
    return {"schema": STAGE_SCHEMA, "id": stage_id, "task": task, "upstream": upstream}


def read_key(directory: Path) -> dict[str, Any]:
    """What a cached stage records about itself: id, task, upstream stage id (``{}`` if unreadable)."""
    with contextlib.suppress(OSError, ValueError):
        return read_json(directory / KEY_FILE)
    return {}


def _record_use(directory: Path, run_dir: Path) -> None:
    """Add ``run_dir`` to the runs that use the stage and stamp the time (called under the stage's lock)."""
    path = directory / USERS_FILE
    users: dict[str, Any] = {"runs": []}
    with contextlib.suppress(OSError, ValueError):
        users = read_json(path)
    runs = set(users.get("runs", [])) | {str(run_dir.resolve())}
    atomic_write_json(path, {"runs": sorted(runs), "last_used": time.time()})


def _publish(stage_id: str) -> Path:
    """Rename the complete partial directory onto its published name (an incomplete leftover there is replaced)."""
    final, work = published_dir(stage_id), partial_dir(stage_id)
    if final.exists():
        stale = final.with_name(f".{final.name}.stale-{os.getpid()}")
        os.replace(final, stale)
        shutil.rmtree(stale, ignore_errors=True)
    os.replace(work, final)
    return final


@contextlib.contextmanager
def stage_slot(stage_id: str, *, task: str, upstream: str | None, run_dir: Path, pointer: Path) -> Iterator[Path]:
    """Hold the stage's lock and yield the directory to train in: the published stage if it is complete.

    Otherwise yields ``<id>.partial/`` (checkpoints of an interrupted attempt included) and, when
    the block ends without error and the stage is complete there, publishes it. The run's
    ``pointer`` names the stage before it trains, so the run directory knows what it started.
    Launched on several processes, the main one holds the lock and writes; all train in the directory.
    """
    main = is_main_process()
    with exclusive_lock(_lock_path(stage_id)) if main else contextlib.nullcontext():
        if main:
            atomic_write_json(pointer, {"stage_id": stage_id, "task": task, "directory": str(published_dir(stage_id))})
        wait_for_everyone()  # several processes: the main one holds the lock before the others look
        if is_complete(published_dir(stage_id)):
            if main:
                _record_use(published_dir(stage_id), run_dir)
            yield published_dir(stage_id)
            wait_for_everyone()
            return
        work = partial_dir(stage_id)
        if main:
            atomic_write_json(work / KEY_FILE, _describe(stage_id, task, upstream))
        yield work
        wait_for_everyone()  # every process is done with the partial directory before it is renamed
        if main and is_complete(work):
            _record_use(_publish(stage_id), run_dir)


def stage_pointer(run_dir: Path, index: int, task: str) -> Path:
    """The file of a run directory that names the id of its stage ``index``."""
    return run_dir / "stages" / f"{index:02d}-{task}.json"


@dataclasses.dataclass
class CachedStage:
    """One entry of the stage cache, as ``crossling cache list`` shows it.

    Args:
        id: The stage id.
        task: Its task.
        directory: Its directory (``<id>/``, or ``<id>.partial/`` while incomplete).
        complete: Whether it is published.
        size: Bytes on disk.
        last_used: Seconds since the epoch of its last use (its directory's time if never recorded).
        runs: Run directories whose plan still points at it.
    """

    id: str
    task: str
    directory: Path
    complete: bool
    size: int
    last_used: float
    runs: list[str]


def _referencing_runs(stage_id: str, runs: list[str]) -> list[str]:
    """The recorded runs whose ``stages/*.json`` still name ``stage_id`` (deleted or re-run ones drop out)."""
    alive = []
    for run in runs:
        for pointer in Path(run).glob("stages/*.json"):
            with contextlib.suppress(OSError, ValueError, KeyError):
                if read_json(pointer)["stage_id"] == stage_id:
                    alive.append(run)
                    break
    return alive


def _entry(directory: Path) -> CachedStage:
    complete = not directory.name.endswith(PARTIAL_SUFFIX)
    stage_id = directory.name.removesuffix(PARTIAL_SUFFIX)
    info = read_key(directory)
    users: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        users = read_json(directory / USERS_FILE)
    files = [p for p in directory.rglob("*") if p.is_file()]
    return CachedStage(
        id=stage_id,
        task=info.get("task", "?"),
        directory=directory,
        complete=complete,
        size=sum(p.stat().st_size for p in files),
        last_used=users.get("last_used", directory.stat().st_mtime),
        runs=_referencing_runs(stage_id, users.get("runs", [])),
    )


def list_stages() -> list[CachedStage]:
    """Every stage in the cache (published and partial), most recently used first."""
    root = stages_dir()
    if not root.is_dir():
        return []
    entries = [_entry(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted(entries, key=lambda e: e.last_used, reverse=True)


def remove_stage(entry: CachedStage) -> bool:
    """Delete a cached stage unless a process holds it; ``False`` when busy.

    The directory is renamed away first, so no reader ever sees half of a deleted stage.
    """
    try:
        with exclusive_lock(_lock_path(entry.id), wait=False):
            trash = entry.directory.with_name(f".{entry.directory.name}.deleted-{os.getpid()}")
            os.replace(entry.directory, trash)
            shutil.rmtree(trash)
    except LockBusy:
        logger.warning("stage %s is in use by another crossling process; kept", entry.id)
        return False
    return True
