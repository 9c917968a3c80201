"""From a task config to cached features: build the source, read records, tokenize with caching."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import datasets

from crossling.config.schema import TaskConfig
from crossling.data.carved import CarvedSource
from crossling.data.features import load_features
from crossling.data.records import Candidate, Record
from crossling.errors import ConfigError, DataError
from crossling.tasks.registry import get_task
from crossling.taskspec import DataSource, RankingSource, SourceOptions, TaskSpec

logger = logging.getLogger(__name__)


def declared_languages(spec: TaskSpec, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Languages a config may name for ``spec``: its XTREME and XTREME-R sets, its train language, ``extra``."""
    ordered = (spec.train_language, *spec.languages, *spec.xtreme_r_languages, *extra)
    return tuple(dict.fromkeys(ordered))


def task_languages(name: str) -> tuple[str, ...]:
    """Every language task ``name`` declares (``declared_languages``): a language rule's default candidates."""
    return declared_languages(get_task(name))


def check_languages(config: TaskConfig, spec: TaskSpec) -> None:
    """``ConfigError`` naming the task's languages if the config uses a language the task does not declare.

    A context-question pair (``de-en``) is accepted when both parts are declared; anything
    else undeclared must be listed in ``task.extra_languages``.
    """
    allowed = set(declared_languages(spec, config.extra_languages))
    for key in ("train_languages", "eval_languages"):
        for language in getattr(config, key):
            if language in allowed or all(part in allowed for part in language.split("-")):
                continue
            raise ConfigError(
                f"task.{key}: {spec.name} has no language {language!r}; it declares "
                f"{', '.join(declared_languages(spec))} (list other languages of your own data in task.extra_languages)"
            )


def check_unique_ids(
    records: list[Record], *, task: str, language: str, split: str, skip_duplicates: bool = False
) -> list[Record]:
    """``records`` with unique ids: a repeated id is a ``DataError``, or (``skip_duplicates``) dropped and counted."""
    seen: set[str] = set()
    kept = []
    for record in records:
        record_id = getattr(record, "id", None)
        if record_id is not None and record_id in seen:
            if not skip_duplicates:
                raise DataError(
                    f"{task}: duplicate example id {record_id!r} in the {split} split of {language!r} "
                    "(ids must be unique; use task.skip_bad_lines to drop repeats)"
                )
            continue
        seen.add(record_id)
        kept.append(record)
    if len(kept) < len(records):
        logger.warning(
            "%s/%s/%s: skipped %d example(s) with a duplicate id", task, language, split, len(records) - len(kept)
        )
    return kept


@dataclass
class TaskData:
    """A task with its configured source; hands out records and cached features per (language, split).

    Args:
        config: The ``task`` section of the experiment config.
        spec: The registered task.
        source: Its data source.
        fingerprints: Source fingerprints of everything read so far, for the run manifest.
    """

    config: TaskConfig
    spec: TaskSpec
    source: DataSource
    fingerprints: dict[str, str] = field(default_factory=dict)
    _records: dict[tuple[str, str], list[Record]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, config: TaskConfig) -> TaskData:
        """Resolve the task, check its languages and build its source from ``config``."""
        spec = get_task(config.name)
        check_languages(config, spec)
        source_name = config.source or spec.default_source or next(iter(spec.sources))
        options = SourceOptions(
            data_dir=config.data_dir, skip_bad_lines=config.skip_bad_lines, params=dict(config.params)
        )
        source = spec.build_source(source_name, options)
        spec = spec.kind_plugin.for_source(spec, source)
        if config.carve:
            disjoint = tuple(config.train_languages) if config.carve.get("disjoint") else ()
            source = CarvedSource(source, config.carve["from"], config.carve["train"], config.carve["dev"], disjoint)
        return cls(config, spec, source)

    @property
    def max_length(self) -> int:
        """Configured maximum length, else the task's default."""
        return self.config.max_length or self.spec.max_length

    def eval_languages(self) -> tuple[str, ...]:
        """Configured evaluation languages, else all of the task's under the configured benchmark."""
        return self.config.eval_languages or self.spec.all_languages(self.config.benchmark)

    def records(self, language: str, split: str) -> list[Record]:
        """Records of (language, split) with unique ids, capped by the config's example limits (read once, then kept)."""
        key = (language, split)
        if key not in self._records:
            records = check_unique_ids(
                list(self.source.load(language, split)),
                task=self.spec.name,
                language=language,
                split=split,
                skip_duplicates=self.config.skip_bad_lines,
            )
            cap = self.config.max_train_examples if split == "train" else self.config.max_eval_examples
            self._records[key] = list(records[:cap]) if cap else list(records)
        return self._records[key]

    def candidates(self, language: str, split: str) -> tuple[Candidate, ...]:
        """What the queries of (language, split) are ranked against (mining and ranking sources); never capped."""
        if not isinstance(self.source, RankingSource):
            raise DataError(f"{self.spec.name}: its source {type(self.source).__name__} has no candidates to rank")
        self.fingerprints[f"{self.spec.name}/{language}/{split}"] = self.source.fingerprint(language, split)
        return self.source.candidates(language, split)

    @property
    def num_train_examples(self) -> int:
        """Training examples (sentences, questions) of every training language, not the windows they become."""
        return sum(len(self.records(language, "train")) for language in self.config.train_languages)

    def features(self, language: str, split: str, tokenizer: Any) -> datasets.Dataset:
        """Tokenized features of (language, split), from the Arrow cache when possible."""
        cap = self.config.max_train_examples if split == "train" else self.config.max_eval_examples
        fingerprint = f"{self.source.fingerprint(language, split)}:cap={cap}"
        self.fingerprints[f"{self.spec.name}/{language}/{split}"] = fingerprint
        return load_features(
            self.spec,
            lambda: self.records(language, split),
            language=language,
            split=split,
            source_fingerprint=fingerprint,
            tokenizer=tokenizer,
            max_length=self.max_length,
            options=self.featurizer_options(),
        )

    def featurizer_options(self) -> dict[str, Any]:
        """Keyword arguments of the kind's featurizer taken from the task and its config (tagging: ``subword_labels``)."""
        return self.spec.fine_tuned_kind().featurizer_options(self.spec, self.config)

    def train_features(self, tokenizer: Any) -> datasets.Dataset:
        """Training features of every training language, concatenated."""
        parts = [self.features(lang, "train", tokenizer) for lang in self.config.train_languages]
        return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
