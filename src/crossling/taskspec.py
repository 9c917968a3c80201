"""What a task is: its kind and the kind's plugin contract, its declaration (``TaskSpec``), the data-source contract.

A leaf below every package: it imports nothing from crossling but ``crossling.errors``.
"""

from __future__ import annotations

import abc
import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from crossling.errors import ConfigError

#: Canonical split names used throughout crossling; sources map their own names onto these.
SPLITS = ("train", "dev", "test")


class TaskKind(StrEnum):
    """What a task's model predicts; heads, features and metrics are chosen by kind, not by name."""

    PAIR_CLASSIFICATION = "pair_classification"
    TOKEN_CLASSIFICATION = "token_classification"
    EXTRACTIVE_QA = "extractive_qa"
    RETRIEVAL = "retrieval"
    MULTIPLE_CHOICE = "multiple_choice"
    IMAGE_TEXT_ALIGNMENT = "image_text_alignment"


class KindPlugin(abc.ABC):
    """What every task kind declares: its ``TaskKind`` and how its outputs may be combined.

    One instance per kind lives in ``crossling.tasks.kinds`` and is held by each ``TaskSpec``
    of that kind (``TaskSpec.kind_plugin``), so code asks the task's plugin, never a table.

    Attributes:
        kind: The kind's name (results files, feature-cache keys, ``crossling tasks``).
        fine_tunes: Whether a stage of this kind trains the encoder. A kind that does not
            (retrieval) is scored with the encoder as the earlier stages left it, and cannot
            be an intermediate stage.
        probability_axis: Axis of a row's logits that a softmax turns into a distribution, so
            that several models' rows can be averaged (ensembles); ``None``: no distribution.
        averages_scores: Rows without a probability axis that ensembles may still average as
            scores (retrieval's similarity matrices); a kind with neither cannot be ensembled.
    """

    kind: ClassVar[TaskKind]
    fine_tunes: ClassVar[bool] = True
    probability_axis: ClassVar[int | None] = None
    averages_scores: ClassVar[bool] = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind}>"

    def for_source(self, task: TaskSpec, source: DataSource) -> TaskSpec:
        """``task`` as its configured data shape it (default: unchanged).

        A kind whose head size the data decide (image-text alignment: the image features'
        length, ``VectorSource.feature_dim``) returns a copy with that ``output_dim``.
        """
        return task


class FineTunedKind(KindPlugin):
    """A kind trained with a head on the encoder: records -> features -> head logits -> score and prediction file.

    Attributes:
        sequence_labels: Labels are per token (padded along the sequence by the collator).
        prediction_extension: Extension of the prediction file (``tsv`` or ``json``).
    """

    fine_tunes: ClassVar[bool] = True
    probability_axis: ClassVar[int | None] = -1
    sequence_labels: ClassVar[bool] = False
    prediction_extension: ClassVar[str] = "tsv"

    def featurizer_options(self, task: TaskSpec, config: Any) -> dict[str, Any]:
        """Keyword arguments of ``featurize`` taken from the task and its config section (part of the cache key)."""
        return {}

    @abc.abstractmethod
    def featurize(
        self, records: Sequence[Any], labels: tuple[str, ...], tokenizer: Any, max_length: int, **options: Any
    ) -> dict[str, list]:
        """Feature columns of ``records``: the model inputs, ``labels`` and ``length`` (plus kind-specific columns).

        ``labels`` are the task's label names (a label's class id is its index); errors are
        ``DataError``s naming the example.
        """

    @abc.abstractmethod
    def build_head(self, hidden_size: int, num_labels: int, **options: Any) -> Any:
        """A new head (``torch.nn.Module`` with ``forward(features, attention_mask)`` and ``loss(logits, labels)``)."""

    @abc.abstractmethod
    def score(
        self, task: TaskSpec, logits: Sequence[Any], features: Any, records: Sequence[Any], *, language: str
    ) -> Any:
        """``LanguageScore`` of one language from the logits of every feature row (``language``: its code)."""

    @abc.abstractmethod
    def prediction_text(self, task: TaskSpec, predictions: Any) -> str:
        """The prediction file's text, in the format google-research/xtreme's scorer reads."""

    def prediction_file(self, task: TaskSpec, predictions: Any) -> tuple[str, str]:
        """``(extension, text)`` of the prediction file."""
        return self.prediction_extension, self.prediction_text(task, predictions)


@dataclass(frozen=True)
class SourceOptions:
    """Options a task's data source is built with (from the ``task`` section of the config).

    Args:
        data_dir: Local directory for file-based sources (``None`` for hub/generated sources).
        skip_bad_lines: Skip malformed lines (and report how many) instead of failing.
        max_examples: Keep at most this many examples per (language, split); ``None`` keeps all.
        params: Extra source-specific parameters (e.g. template-benchmark sizes).
    """

    data_dir: Path | None = None
    skip_bad_lines: bool = False
    max_examples: int | None = None
    params: dict = field(default_factory=dict)


@runtime_checkable
class DataSource(Protocol):
    """Where a task's examples come from (HF hub, local files, the built-in generator)."""

    def load(self, language: str, split: str) -> list[Any]:
        """All records (``crossling.data.records``) of ``language``/``split`` (split is one of ``SPLITS``).

        Raises ``DataError`` naming the file and line on malformed input, and when the
        split does not exist or is empty.
        """
        ...

    def fingerprint(self, language: str, split: str) -> str:
        """A string that changes whenever the records of ``language``/``split`` would change."""
        ...


@runtime_checkable
class RankingSource(DataSource, Protocol):
    """A source whose records are queries ranked against shared candidates (bitext mining, LAReQA, Mewsli-X)."""

    def candidates(self, language: str, split: str) -> tuple[Any, ...]:
        """The candidates (``crossling.data.records.Candidate``) of ``language``/``split``, the same object on every call."""
        ...


@runtime_checkable
class VectorSource(DataSource, Protocol):
    """A source whose records carry target vectors of one length that its data decide (image features)."""

    def feature_dim(self) -> int:
        """The length of every record's vector; ``DataError``/``ConfigError`` naming the file when it cannot be read."""
        ...


SourceFactory = Callable[[SourceOptions], DataSource]


@dataclass(frozen=True)
class TaskSpec:
    """A task declaration.

    Args:
        name: Registry name (``xnli``, ``pawsx``, ``udpos``, ...).
        kind_plugin: What is predicted and how: the kind's plugin (``crossling.tasks.kinds``);
            ``kind`` is its ``TaskKind``.
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
        output_dim: Size of a vector target (image-text alignment: the scene-vector length); a
            source that decides it (``VectorSource``) overrides it (``KindPlugin.for_source``).
    """

    name: str
    kind_plugin: KindPlugin
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
        if not isinstance(self.kind_plugin, KindPlugin):
            raise TypeError(
                f"task {self.name!r}: kind_plugin must be a KindPlugin (crossling.tasks.kinds), "
                f"got {self.kind_plugin!r}"
            )
        if not self.sources:
            raise ValueError(f"task {self.name!r} declares no data source")
        if self.default_source and self.default_source not in self.sources:
            raise ValueError(
                f"task {self.name!r}: default_source {self.default_source!r} is not one of {sorted(self.sources)}"
            )
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"task {self.name!r} has duplicate labels: {self.labels}")

    @property
    def kind(self) -> TaskKind:
        """The ``TaskKind`` of the task's plugin."""
        return self.kind_plugin.kind

    @property
    def num_labels(self) -> int:
        """Output size of the head: number of classes, or ``output_dim`` for vector targets."""
        return len(self.labels) or self.output_dim

    def fine_tuned_kind(self) -> FineTunedKind:
        """The kind plugin of a task that is fine-tuned; ``ConfigError`` for a kind that is not (retrieval)."""
        if not isinstance(self.kind_plugin, FineTunedKind):
            raise ConfigError(
                f"task {self.name!r} ({self.kind}) is scored without fine-tuning: it has no features, head or logits"
            )
        return self.kind_plugin

    def label_to_id(self, label: str) -> int:
        """Class index of a label name; ``ValueError`` if unknown (callers add file/line context)."""
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
