"""The template benchmark's ``DataSource``: validated size/seed parameters, records per (language, split), fingerprints."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from crossling.data.records import Record
from crossling.data.template.realize import LANGUAGES
from crossling.data.template.tasks import (
    DEFAULT_FEATURE_DIM,
    DEFAULT_NOISE,
    DEFAULT_SEED,
    DEFAULT_SIZES,
    GENERATOR_VERSION,
    build_records,
)
from crossling.errors import ConfigError, DataError
from crossling.taskspec import SPLITS, SourceOptions

#: The training language of zero-shot transfer: its train split shares the configured seed.
TRAIN_LANGUAGE = "en"


@dataclass(frozen=True)
class TemplateParams:
    """Resolved generator parameters (``SourceOptions.params`` over the task's defaults).

    Args:
        train_size: Examples in the English train split.
        dev_size: Examples in each language's dev split.
        test_size: Examples in each language's test split.
        seed: Seed of every random choice; the same seed gives byte-identical records.
        feature_dim: Length of the scene vectors (``tmpl-image`` only).
        noise: Scale of the noise added to scene vectors (``tmpl-image`` only).
    """

    train_size: int
    dev_size: int
    test_size: int
    seed: int = DEFAULT_SEED
    feature_dim: int = DEFAULT_FEATURE_DIM
    noise: float = DEFAULT_NOISE

    @classmethod
    def resolve(cls, task: str, params: dict) -> TemplateParams:
        """Defaults of ``task`` overridden by ``params``; ``ConfigError`` for unknown keys or bad values."""
        train, dev, test = DEFAULT_SIZES[task]
        known = ("train_size", "dev_size", "test_size", "seed") + (("feature_dim", "noise") if task == "image" else ())
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ConfigError(f"template task {task!r}: unknown params {unknown}; known: {', '.join(known)}")
        resolved = cls(**{"train_size": train, "dev_size": dev, "test_size": test, **params})
        for name in ("train_size", "dev_size", "test_size", "feature_dim"):
            value = getattr(resolved, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"template task {task!r}: {name} must be a positive integer, got {value!r}")
        if not isinstance(resolved.seed, int) or isinstance(resolved.seed, bool):
            raise ConfigError(f"template task {task!r}: seed must be an integer, got {resolved.seed!r}")
        if not isinstance(resolved.noise, int | float) or resolved.noise < 0:
            raise ConfigError(f"template task {task!r}: noise must be a non-negative number, got {resolved.noise!r}")
        return resolved

    def size(self, split: str) -> int:
        """Number of examples of ``split``."""
        return {"train": self.train_size, "dev": self.dev_size, "test": self.test_size}[split]


class TemplateSource:
    """Generated records of one template task (``nli``, ``paws``, ``ner``, ``pos``, ``qa``, ``retrieval``, ``image``).

    Dev and test exist in every language of ``LANGUAGES`` and are parallel: example ``i``
    states the same meaning in every language. Train exists in every language too (for
    multilingual intermediate tasks); a non-English train split draws its own meanings
    (``items_seed``), so a multilingual training mixture is not a set of translations of
    the English one. Zero-shot experiments train the target task on English only.
    """

    def __init__(self, task: str, options: SourceOptions) -> None:
        if task not in DEFAULT_SIZES:
            raise ConfigError(f"unknown template task {task!r}; known: {', '.join(DEFAULT_SIZES)}")
        self.task = task
        self.options = options
        self.params = TemplateParams.resolve(task, dict(options.params))

    def _check(self, language: str, split: str) -> None:
        if language not in LANGUAGES:
            raise DataError(
                f"the template benchmark has no language {language!r}; supported: {', '.join(sorted(LANGUAGES))}"
            )
        if split not in SPLITS:
            raise DataError(f"the template benchmark has no split {split!r}; supported: {', '.join(SPLITS)}")

    def items_seed(self, language: str, split: str) -> int:
        """The seed meanings are drawn with: the configured one, except for non-English train splits (one seed each)."""
        if split != "train" or language == TRAIN_LANGUAGE:
            return self.params.seed
        return self.params.seed + 1000 * (sorted(LANGUAGES).index(language) + 1)

    def feature_dim(self) -> int:
        """The length of the scene vectors (``params.feature_dim``; ``tmpl-image``)."""
        return self.params.feature_dim

    def load(self, language: str, split: str) -> list[Record]:
        """The records of ``language``/``split``; ``DataError`` for an unsupported language or split."""
        self._check(language, split)
        p = self.params
        records = build_records(
            self.task, language, split, p.size(split), self.items_seed(language, split), (p.feature_dim, p.noise)
        )
        if self.options.max_examples is not None:
            records = records[: self.options.max_examples]
        return records

    def fingerprint(self, language: str, split: str) -> str:
        """SHA-256 of generator version, task, resolved params, ``max_examples``, language and split."""
        self._check(language, split)
        payload = {
            "generator": GENERATOR_VERSION,
            "task": self.task,
            "params": self.params.__dict__,
            "max_examples": self.options.max_examples,
            "language": language,
            "split": split,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
