"""The task registry: a task is a declarative ``TaskSpec`` (kind, labels, metric, languages, sources)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from crossling.data.sources import DataSource, SourceOptions
from crossling.errors import ConfigError


class TaskKind(StrEnum):
    """What a task's model predicts; heads, features and metrics are chosen by kind, not by name."""

    PAIR_CLASSIFICATION = "pair_classification"
    TOKEN_CLASSIFICATION = "token_classification"
    EXTRACTIVE_QA = "extractive_qa"
    RETRIEVAL = "retrieval"
    MULTIPLE_CHOICE = "multiple_choice"
    IMAGE_TEXT_ALIGNMENT = "image_text_alignment"


SourceFactory = Callable[[SourceOptions], DataSource]


@dataclass(frozen=True)
class TaskSpec:
    """A task declaration.

    Args:
        name: Registry name (``xnli``, ``pawsx``, ``udpos``, ...).
        kind: What is predicted (see ``TaskKind``).
        labels: Label names in a fixed order (the class-index order of the head). Empty for
            QA and retrieval.
        metric: Name of the primary metric (``accuracy``, ``f1``, ``squad_f1``, ...).
        languages: Evaluation languages of the XTREME benchmark (or the task's own set).
        xtreme_r_languages: Evaluation languages under XTREME-R, if it differs or adds some.
        sources: Source name (``hub``, ``local``, ``generated``) to a factory building it.
        train_language: Language of the training split used for zero-shot transfer.
        max_length: Default maximum sequence length in sub-tokens.
        description: One line for ``crossling tasks``.
        category: Benchmark category (``classification``, ``structured prediction``, ``qa``,
            ``retrieval``) used for score aggregation.
        default_source: Source used when the config names none.
        output_dim: Size of a vector target (image-text alignment: the scene-vector length).
    """

    name: str
    kind: TaskKind
    labels: tuple[str, ...]
    metric: str
    languages: tuple[str, ...]
    sources: Mapping[str, SourceFactory]
    xtreme_r_languages: tuple[str, ...] = ()
    train_language: str = "en"
    max_length: int = 128
    description: str = ""
    category: str = ""
    default_source: str = field(default="")
    output_dim: int = 0

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError(f"task {self.name!r} declares no data source")
        if self.default_source and self.default_source not in self.sources:
            raise ValueError(
                f"task {self.name!r}: default_source {self.default_source!r} is not one of {sorted(self.sources)}"
            )
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"task {self.name!r} has duplicate labels: {self.labels}")

    @property
    def num_labels(self) -> int:
        """Output size of the head: number of classes, or ``output_dim`` for vector targets."""
        return len(self.labels) or self.output_dim

    def label_to_id(self, label: str) -> int:
        """Class index of a label name; ``KeyError`` if unknown (callers add file/line context)."""
        return self.labels.index(label)

    def build_source(self, source: str, options: SourceOptions) -> DataSource:
        """Instantiate one of this task's sources, with a clear error for an unknown name."""
        if source not in self.sources:
            near = difflib.get_close_matches(source, list(self.sources), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ConfigError(
                f"task.source: task {self.name!r} has no data source {source!r}{hint} "
                f"(available: {', '.join(sorted(self.sources))})"
            )
        return self.sources[source](options)

    def all_languages(self, benchmark: str = "xtreme") -> tuple[str, ...]:
        """Languages to evaluate on under ``benchmark`` (``xtreme`` or ``xtreme-r``)."""
        if benchmark == "xtreme-r" and self.xtreme_r_languages:
            return self.xtreme_r_languages
        return self.languages


_TASKS: dict[str, TaskSpec] = {}


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add ``spec`` to the registry (names are unique)."""
    if spec.name in _TASKS:
        raise ValueError(f"task {spec.name!r} is already registered")
    _TASKS[spec.name] = spec
    return spec


def get_task(name: str) -> TaskSpec:
    """The registered task called ``name``; ``ConfigError`` with the nearest names otherwise."""
    _ensure_loaded()
    try:
        return _TASKS[name]
    except KeyError:
        near = difflib.get_close_matches(name, list(_TASKS), n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise ConfigError(f"unknown task {name!r}{hint} (see `crossling tasks`)") from None


def list_tasks() -> list[TaskSpec]:
    """All registered tasks, sorted by name."""
    _ensure_loaded()
    return [_TASKS[name] for name in sorted(_TASKS)]


def _ensure_loaded() -> None:
    # Declarations live in their own modules; importing the package registers them.
    import crossling.tasks  # noqa: F401
