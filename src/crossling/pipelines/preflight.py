"""Checks before the first training step: writable directories, every stage's data files, the model's limits.

A run that would fail after hours of training on a missing test file, a bad label in it or a
sequence longer than the model's position table fails here instead, in one line. The data are
read through the tasks' own ``TaskData``, which keeps the records: training and evaluation
reuse them, so nothing is parsed twice.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from crossling.config.schema import ExperimentConfig
from crossling.errors import ConfigError, DataError, EnvironmentFault, ModelError
from crossling.evaluation.retrieval import require_faiss
from crossling.models.encoder import checked_model_path
from crossling.tasks.loading import TaskData
from crossling.utils.paths import crossling_home


def check_writable(directory: Path, what: str) -> None:
    """``EnvironmentFault`` unless ``directory`` exists or can be created, and a file can be written in it.

    Args:
        directory: The directory a run writes into.
        what: How the user names it (``output_dir (--output-dir)``, ``CROSSLING_HOME``), for the message.
    """
    blocker = next((p for p in (directory, *directory.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise EnvironmentFault(
            f"{blocker}: a regular file where {what} needs a directory ({directory}); "
            f"remove it or choose another {what}"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory, prefix=".crossling-write-probe-"):
            pass
    except OSError as exc:
        raise EnvironmentFault(
            f"{directory}: {what} is not writable ({exc.strerror or exc}); choose a writable {what}"
        ) from None


def check_directories(run_dir: Path) -> None:
    """The run's output directory and crossling's cache (``CROSSLING_HOME``) are writable."""
    check_writable(run_dir.parent, "output_dir (--output-dir)")
    check_writable(crossling_home(), "CROSSLING_HOME")


def _needed_splits(data: TaskData, *, fine_tuned: bool, evaluated: bool) -> list[tuple[str, str]]:
    """(language, split) pairs a stage reads: train languages, the dev split, every evaluation language."""
    needed: list[tuple[str, str]] = []
    if fine_tuned:
        needed += [(language, "train") for language in data.config.train_languages]
        if data.config.dev_split != "none":
            needed.append((data.config.train_languages[0], data.config.dev_split))
    if evaluated:
        needed += [(language, data.config.eval_split) for language in data.eval_languages()]
    return list(dict.fromkeys(needed))


def _check_records(data: TaskData, language: str, split: str) -> None:
    """Read (language, split) through ``data`` (kept for training and evaluation); refuse empty or mislabelled data."""
    records = data.records(language, split)
    if not records:
        raise DataError(
            f"{data.spec.name}: the {split} split of {language!r} is empty"
            f"{f' (in {data.config.data_dir})' if data.config.data_dir else ''}"
        )
    if not data.spec.labels:
        return
    allowed = set(data.spec.labels)
    for record in records:
        labels = [getattr(record, "label", None), *getattr(record, "tags", ())]
        unknown = next((label for label in labels if label is not None and label not in allowed), None)
        if unknown is not None:
            raise DataError(
                f"{data.spec.name}: example {getattr(record, 'id', '?')!r} of the {split} split of "
                f"{language!r} has label {unknown!r}; expected one of {sorted(allowed)}"
            )


def _check_default_languages(data: TaskData) -> None:
    """With ``task.eval_languages`` empty (all of the task's) and local files: name every language the files lack."""
    split = data.config.eval_split
    missing: dict[str, str] = {}
    for language in data.eval_languages():
        try:
            _check_records(data, language, split)
        except DataError as exc:
            missing[language] = str(exc)
    if missing:
        first = next(iter(missing))
        raise ConfigError(
            f"task.eval_languages is empty, so all {len(data.eval_languages())} languages of {data.spec.name} are "
            f"evaluated, but {data.config.data_dir} lacks usable {split} data for {', '.join(missing)} "
            f"({first}: {missing[first]}); list the languages you have in task.eval_languages"
        )


def check_task_data(data: TaskData, *, fine_tuned: bool, evaluated: bool) -> None:
    """Every file a stage will read exists, parses, has labels of the task's label set, and is not empty."""
    if evaluated and not data.config.eval_languages and data.config.data_dir is not None:
        _check_default_languages(data)
    for language, split in _needed_splits(data, fine_tuned=fine_tuned, evaluated=evaluated):
        _check_records(data, language, split)


def _position_limit(config: ExperimentConfig) -> int | None:
    """The encoder's ``max_position_embeddings`` (``None`` for relative positions, e.g. T5)."""
    from transformers import AutoConfig

    path = checked_model_path(config.model)
    try:
        hf_config = AutoConfig.from_pretrained(
            path, revision=config.model.revision, trust_remote_code=config.model.trust_remote_code
        )
    except (OSError, ValueError) as exc:
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise ModelError(f"cannot read the config of model {config.model.name_or_path!r}: {first}") from None
    return getattr(hf_config, "max_position_embeddings", None)


def check_model_limits(
    config: ExperimentConfig,
    tasks: Sequence[TaskData],
    *,
    fine_tunes_target: bool = True,
    keys: Sequence[str] | None = None,
) -> None:
    """``ConfigError`` if a sequence length the run will use exceeds the encoder's position table.

    Checked: every stage's ``task.max_length`` (or the task's default), and ``retrieval.max_length``
    when the target is evaluated without fine-tuning. ``keys`` name each task section (default:
    ``intermediate[i].task`` for all but the last, ``task``).
    """
    limit = _position_limit(config)
    if limit is None:
        return
    keys = keys or [f"intermediate[{i}].task" for i in range(len(tasks) - 1)] + ["task"]
    lengths = [
        (f"{key}.max_length", data.max_length, "" if data.config.max_length else f" (the default of {data.spec.name})")
        for key, data in zip(keys, tasks, strict=True)
    ]
    if not fine_tunes_target and config.retrieval.max_length:
        lengths[-1] = ("retrieval.max_length", config.retrieval.max_length, "")
    for key, length, origin in lengths:
        if length > limit:
            raise ConfigError(
                f"{key}: {length}{origin} exceeds the model's max_position_embeddings "
                f"({limit}); set {key} to at most {limit}"
            )


def check_before_training(
    config: ExperimentConfig,
    tasks: Sequence[TaskData],
    run_dir: Path,
    *,
    fine_tunes_target: bool = True,
    keys: Sequence[str] | None = None,
) -> None:
    """Everything a run needs before its first step, each problem a one-line ``CrosslingError``.

    Args:
        config: The experiment.
        tasks: Task data of every stage in order (intermediate stages, a mixture's members one by
            one, then the target); their records are read here and kept.
        run_dir: The run directory (its parent must be writable).
        fine_tunes_target: False for tasks evaluated without fine-tuning (retrieval): their
            train split is not needed.
        keys: The config key of each of ``tasks`` (``intermediate[0].mixture[1].task``), for messages.
    """
    check_directories(run_dir)
    for index, data in enumerate(tasks):
        target = index == len(tasks) - 1
        check_task_data(data, fine_tuned=fine_tunes_target or not target, evaluated=target)
    check_model_limits(config, tasks, fine_tunes_target=fine_tunes_target, keys=keys)
    if not fine_tunes_target and config.retrieval.index == "faiss":
        require_faiss()  # the optional extra: missing, the run stops here, not after its intermediate stages
