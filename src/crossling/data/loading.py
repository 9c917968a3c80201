"""From a task config to cached features: build the source, read records, tokenize with caching."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import datasets

from crossling.config.schema import TaskConfig
from crossling.data.features import load_features
from crossling.data.records import Record
from crossling.data.sources import DataSource, SourceOptions
from crossling.tasks.registry import TaskSpec, get_task


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
        """Resolve the task and build its source from ``config``."""
        spec = get_task(config.name)
        source_name = config.source or spec.default_source or next(iter(spec.sources))
        options = SourceOptions(data_dir=config.data_dir, skip_bad_lines=config.skip_bad_lines, params=dict(config.params))
        return cls(config, spec, spec.build_source(source_name, options))

    @property
    def max_length(self) -> int:
        """Configured maximum length, else the task's default."""
        return self.config.max_length or self.spec.max_length

    def eval_languages(self) -> tuple[str, ...]:
        """Configured evaluation languages, else all of the task's under the configured benchmark."""
        return self.config.eval_languages or self.spec.all_languages(self.config.benchmark)

    def records(self, language: str, split: str) -> list[Record]:
        """Records of (language, split), capped by the config's example limits (read once, then kept)."""
        key = (language, split)
        if key not in self._records:
            records = self.source.load(language, split)
            cap = self.config.max_train_examples if split == "train" else self.config.max_eval_examples
            self._records[key] = list(records[:cap]) if cap else list(records)
        return self._records[key]

    def features(self, language: str, split: str, tokenizer: Any) -> datasets.Dataset:
        """Tokenized features of (language, split), from the Arrow cache when possible."""
        cap = self.config.max_train_examples if split == "train" else self.config.max_eval_examples
        fingerprint = f"{self.source.fingerprint(language, split)}:cap={cap}"
        self.fingerprints[f"{self.spec.name}/{language}/{split}"] = fingerprint
        return load_features(self.spec, lambda: self.records(language, split), language=language, split=split,
                             source_fingerprint=fingerprint, tokenizer=tokenizer, max_length=self.max_length)

    def train_features(self, tokenizer: Any) -> datasets.Dataset:
        """Training features of every training language, concatenated."""
        parts = [self.features(lang, "train", tokenizer) for lang in self.config.train_languages]
        return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
