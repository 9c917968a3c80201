"""Data sources for extractive QA: SQuAD v1.1 JSON files (SQuAD, XQuAD, MLQA, TyDiQA-GoldP) and the HF hub.

Language codes: a plain code (``de``) names the language of both context and question. MLQA's
cross-language pairs are addressed as ``{context}-{question}`` (``de-en``: German context,
English question); the answer language, which the MLQA metric needs, is the context's.

A split may be served by another dataset than the task's own: XQuAD and MLQA are evaluated
after training on SQuAD v1.1, so their ``train`` split is SQuAD's English train file
(``QAFiles.languages`` / ``HubQASplit.languages`` restrict such a split to ``en``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossling.data.formats.squad_json import read_squad_json
from crossling.data.records import Answer, QAExample
from crossling.errors import ConfigError, DataError
from crossling.taskspec import SourceOptions
from crossling.utils.io import sha256_file

#: Bumped whenever a reader's output changes, so cached features are rebuilt.
READER_VERSION = "qa-1"

#: ``SourceOptions.params`` key of a second directory searched for files (SQuAD's, by default the data_dir).
SQUAD_DIR_PARAM = "squad_dir"
#: ``SourceOptions.params`` key of a SQuAD-form file read as SQuAD v1.1 train (a stand-in where it is not at hand).
SQUAD_TRAIN_FILE_PARAM = "squad_train_file"


def split_language_code(language: str) -> tuple[str, str]:
    """``(context language, question language)`` of a QA language code: ``de`` -> (de, de), ``de-en`` -> (de, en)."""
    context, _, question = language.partition("-")
    if not context or (question == "" and language.endswith("-")):
        raise ConfigError(f"QA language code {language!r}: expected 'xx' or 'context-question' like 'de-en'")
    return context, question or context


def answer_language(language: str) -> str:
    """The language of the answers of ``language`` (the context's; MLQA's metric normalizes in it)."""
    return split_language_code(language)[0]


def _template_fields(language: str, names: Mapping[str, str]) -> dict[str, str]:
    context, question = split_language_code(language)
    return {"lang": language, "context": context, "question": question, "name": names.get(context, context)}


def _check_language(task: str, allowed: Sequence[str], language: str, split: str, what: str) -> None:
    if allowed and language not in allowed:
        raise DataError(
            f"{task}: the {split} split is {what}, which exists only in {', '.join(allowed)}; got language {language!r}"
        )


@dataclass(frozen=True)
class QAFiles:
    """Where one split of a QA task lives in local files.

    Args:
        paths: Path templates, tried in order in ``data_dir`` and then in ``params.squad_dir``;
            fields ``{lang}`` (the full code), ``{context}``, ``{question}``.
        languages: The only languages that have this split (empty: every language). SQuAD's
            files serve English only.
        what: What the split is, for messages (``"SQuAD v1.1 train"``).
        param: A ``task.params`` key that may name the split's file directly (a stand-in, e.g.
            ``squad_train_file: xquad.en.json`` where SQuAD's train file is not at hand).
    """

    paths: tuple[str, ...]
    languages: tuple[str, ...] = ()
    what: str = ""
    param: str | None = None


@dataclass
class LocalQASource:
    """Questions from SQuAD v1.1 JSON files under ``data_dir`` (or ``params.squad_dir``).

    The question ids of the file are kept: they key the official ``{id: answer}`` predictions.
    The train split must have an answer for every question; dev/test may be unlabelled.
    """

    task: str
    options: SourceOptions
    files: Mapping[str, QAFiles]

    def __post_init__(self) -> None:
        if self.options.data_dir is None:
            raise ConfigError(f"task.data_dir is required for the local source of {self.task!r}")

    def _directories(self) -> list[Path]:
        directories = [Path(self.options.data_dir)]  # type: ignore[arg-type]
        extra = self.options.params.get(SQUAD_DIR_PARAM)
        if extra:
            directories.append(Path(extra))
        return directories

    def _locate(self, language: str, split: str) -> Path:
        try:
            files = self.files[split]
        except KeyError:
            raise DataError(f"{self.task}: no {split!r} split in local files (has {', '.join(self.files)})") from None
        _check_language(self.task, files.languages, language, split, files.what or "one file")
        if files.param and self.options.params.get(files.param):
            named = Path(self.options.params[files.param]).expanduser()
            named = named if named.is_absolute() else Path(self.options.data_dir) / named  # type: ignore[arg-type]
            if not named.is_file():
                raise DataError(f"{self.task}: task.params.{files.param}: file not found: {named}")
            return named
        fields = _template_fields(language, {})
        tried = []
        for template in files.paths:
            for directory in self._directories():
                candidate = directory / template.format(**fields)
                if candidate.is_file():
                    return candidate
                tried.append(str(candidate))
        hint = f" (set task.params.{SQUAD_DIR_PARAM} to the folder of SQuAD's files)" if files.languages else ""
        raise DataError(f"{self.task}: no {split} file for language {language!r}; looked for {', '.join(tried)}{hint}")

    def load(self, language: str, split: str) -> list[QAExample]:
        """Read the (language, split) file."""
        path = self._locate(language, split)
        examples, _ = read_squad_json(
            path, require_answers=split == "train", skip_bad_lines=self.options.skip_bad_lines
        )
        return examples[: self.options.max_examples] if self.options.max_examples else examples

    def fingerprint(self, language: str, split: str) -> str:
        """Reader version, file content hash and options."""
        path = self._locate(language, split)
        return f"{READER_VERSION}:{sha256_file(path)}:{self.options.max_examples}:{self.options.skip_bad_lines}"


@dataclass(frozen=True)
class HubQASplit:
    """Where one split of a QA task lives on the Hugging Face hub (SQuAD-form columns).

    Args:
        dataset: Hub id (``google/xquad``).
        split: Hub split name.
        config: Config-name template (``xquad.{lang}``, ``mlqa.{context}.{question}``), or ``None``.
        languages: The only languages that have this split (empty: every language).
        id_prefix: Template of the id prefix of the language's rows when one config holds
            every language (TyDiQA: ``{name}-``, ``name`` from the source's ``language_names``).
    """

    dataset: str
    split: str
    config: str | None = None
    languages: tuple[str, ...] = ()
    id_prefix: str | None = None


@dataclass
class HubQASource:
    """Questions from hub datasets with SQuAD's columns: ``id``, ``context``, ``question``,
    ``answers = {"text": [...], "answer_start": [...]}`` (and optionally ``title``).

    Args:
        splits: crossling split name -> where it is on the hub.
        language_names: Language code -> the name used in ids (``id_prefix``'s ``{name}``).
        revision: Hub revision, if pinned.
    """

    task: str
    options: SourceOptions
    splits: Mapping[str, HubQASplit]
    language_names: Mapping[str, str] = field(default_factory=dict)
    revision: str | None = None

    def _split(self, language: str, split: str) -> HubQASplit:
        try:
            where = self.splits[split]
        except KeyError:
            raise DataError(f"{self.task}: no {split!r} split on the hub (has {', '.join(self.splits)})") from None
        _check_language(self.task, where.languages, language, split, f"{where.dataset} ({where.split})")
        return where

    def load(self, language: str, split: str) -> list[QAExample]:
        """Download (or read from the datasets cache) and convert to ``QAExample``."""
        import datasets

        where = self._split(language, split)
        fields = _template_fields(language, self.language_names)
        config = where.config.format(**fields) if where.config else None
        label = f"{where.dataset} ({config or 'default'}, {where.split})"
        try:
            table = datasets.load_dataset(where.dataset, config, split=where.split, revision=self.revision)
        except Exception as exc:  # noqa: BLE001 - the hub raises many types; the message is what matters
            raise DataError(
                f"{self.task}: could not load {label} from the hub: {exc}. "
                "Offline? Use `task.source: local` with task.data_dir."
            ) from None
        prefix = where.id_prefix.format(**fields) if where.id_prefix else ""
        examples = [_hub_example(row, i, label) for i, row in enumerate(table) if str(row["id"]).startswith(prefix)]
        if split == "train":
            examples = [example for example in examples if example.answers]
        if not examples:
            raise DataError(f"{label}: no questions for language {language!r}")
        return examples[: self.options.max_examples] if self.options.max_examples else examples

    def fingerprint(self, language: str, split: str) -> str:
        """Dataset id, config, split, id filter, revision and options."""
        where = self._split(language, split)
        fields = _template_fields(language, self.language_names)
        config = where.config.format(**fields) if where.config else None
        prefix = where.id_prefix.format(**fields) if where.id_prefix else ""
        return (
            f"{READER_VERSION}:hub:{where.dataset}:{config}:{where.split}:{prefix}:{self.revision}:"
            f"{self.options.max_examples}"
        )


def _hub_example(row: Mapping[str, Any], index: int, label: str) -> QAExample:
    """One hub row as a ``QAExample``; answers must be spans of the context (empty ones are dropped)."""
    context = row["context"]
    answers = []
    for text, start in zip(row["answers"]["text"], row["answers"]["answer_start"], strict=True):
        if not text:
            continue
        if context[start : start + len(text)] != text:
            raise DataError(
                f"{label} row {index} (id {row['id']!r}): answer_start {start} does not point at the answer {text!r}"
            )
        answers.append(Answer(text=text, start=int(start)))
    return QAExample(
        id=str(row["id"]),
        context=context,
        question=row["question"],
        answers=tuple(answers),
        title=str(row.get("title") or ""),
    )
