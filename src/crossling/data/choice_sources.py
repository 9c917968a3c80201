"""Data sources for multiple-choice tasks: COPA/XCOPA JSON Lines files and hub datasets (XCOPA, COPA, SIQA)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from crossling.data.formats.copa_jsonl import read_copa_jsonl
from crossling.data.records import ChoiceExample
from crossling.data.sources import SourceOptions
from crossling.errors import ConfigError, DataError
from crossling.utils.io import sha256_file

#: Bumped whenever a reader's output changes, so cached features are rebuilt.
READER_VERSION = "choice-1"


@dataclass
class LocalCopaSource:
    """COPA-style JSON Lines files under ``data_dir``.

    Args:
        task: Task name (for messages).
        options: Source options.
        paths: crossling split -> path templates with ``{lang}``, tried in order.
    """

    task: str
    options: SourceOptions
    paths: Mapping[str, Sequence[str]]

    def __post_init__(self) -> None:
        if self.options.data_dir is None:
            raise ConfigError(f"task.data_dir is required for the local source of {self.task!r}")

    def _locate(self, language: str, split: str) -> Path:
        data_dir = Path(self.options.data_dir)  # type: ignore[arg-type]
        tried = []
        for template in self.paths.get(split, ()):
            candidate = data_dir / template.format(lang=language)
            if candidate.is_file():
                return candidate
            tried.append(str(candidate))
        if not tried:
            raise DataError(f"{self.task}: no {split!r} split in local files (has {', '.join(self.paths)})")
        raise DataError(f"{self.task}: no {split} file for language {language!r}; looked for {', '.join(tried)}")

    def load(self, language: str, split: str) -> list[ChoiceExample]:
        """Read the (language, split) file; ids are ``{lang}-{split}-{idx}``."""
        examples, _ = read_copa_jsonl(
            self._locate(language, split), id_prefix=f"{language}-{split}-", skip_bad_lines=self.options.skip_bad_lines
        )
        return examples[: self.options.max_examples] if self.options.max_examples else examples

    def fingerprint(self, language: str, split: str) -> str:
        """Reader version, file content hash and options."""
        path = self._locate(language, split)
        return f"{READER_VERSION}:{sha256_file(path)}:{self.options.max_examples}:{self.options.skip_bad_lines}"


@dataclass(frozen=True)
class HubChoiceSplit:
    """Where one split of a multiple-choice task lives on the hub, and its columns.

    Args:
        dataset: Hub id.
        split: Hub split name.
        config: Config-name template with ``{lang}``, or ``None``.
        languages: The only languages that have this split (empty: every language).
        premise: Column of the premise / context.
        question: Column of the question (COPA: ``cause``/``effect``).
        choices: Columns of the choices, in choice order.
        label: Column of the gold choice.
        label_base: Value of ``label`` for the first choice (SIQA counts from ``"1"``).
    """

    dataset: str
    split: str
    config: str | None = None
    languages: tuple[str, ...] = ()
    premise: str = "premise"
    question: str = "question"
    choices: tuple[str, ...] = ("choice1", "choice2")
    label: str = "label"
    label_base: int = 0


@dataclass
class HubChoiceSource:
    """Multiple-choice examples from hub datasets (``datasets.load_dataset``); unlabelled rows (-1) are dropped.

    Args:
        splits: crossling split -> candidate hub splits; the first whose ``languages`` is empty
            or holds the language serves it (XCOPA's English dev is COPA's, the others XCOPA's).
        revision: Hub revision, if pinned.
    """

    task: str
    options: SourceOptions
    splits: Mapping[str, Sequence[HubChoiceSplit]]
    revision: str | None = None

    def _split(self, language: str, split: str) -> HubChoiceSplit:
        candidates = self.splits.get(split, ())
        if not candidates:
            raise DataError(f"{self.task}: no {split!r} split on the hub (has {', '.join(self.splits)})")
        for where in candidates:
            if not where.languages or language in where.languages:
                return where
        served = sorted({lang for where in candidates for lang in where.languages})
        raise DataError(
            f"{self.task}: the {split} split on the hub exists only in {', '.join(served)}; got language {language!r}"
        )

    def load(self, language: str, split: str) -> list[ChoiceExample]:
        """Download (or read from the datasets cache) and convert to ``ChoiceExample``."""
        import datasets

        where = self._split(language, split)
        config = where.config.format(lang=language) if where.config else None
        label = f"{where.dataset} ({config or 'default'}, {where.split})"
        try:
            table = datasets.load_dataset(where.dataset, config, split=where.split, revision=self.revision)
        except Exception as exc:  # noqa: BLE001 - the hub raises many types; the message is what matters
            raise DataError(
                f"{self.task}: could not load {label} from the hub: {exc}. "
                "Offline? Use `task.source: local` with task.data_dir."
            ) from None
        examples = []
        for i, row in enumerate(table):
            try:
                gold = int(row[where.label]) - where.label_base
            except (TypeError, ValueError):
                raise DataError(f"{label} row {i}: label {row[where.label]!r} is not an integer") from None
            if gold < 0:
                continue  # unlabelled (hidden test labels are -1)
            choices = tuple(str(row[column]) for column in where.choices)
            if gold >= len(choices):
                raise DataError(f"{label} row {i}: label {row[where.label]!r} is not one of {len(choices)} choices")
            examples.append(
                ChoiceExample(
                    id=f"{language}-{split}-{i}",
                    premise=str(row[where.premise]),
                    question=str(row[where.question]),
                    choices=choices,
                    label=gold,
                )
            )
        if not examples:
            raise DataError(f"{label}: no labelled examples for {language!r}")
        return examples[: self.options.max_examples] if self.options.max_examples else examples

    def fingerprint(self, language: str, split: str) -> str:
        """Dataset id, config, split, revision and options."""
        where = self._split(language, split)
        config = where.config.format(lang=language) if where.config else None
        return (
            f"{READER_VERSION}:hub:{where.dataset}:{config}:{where.split}:{self.revision}:{self.options.max_examples}"
        )
