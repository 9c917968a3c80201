"""Data sources for word-tagging tasks (UD-POS, PAN-X): local files (XTREME TSV, CoNLL-U, raw WikiANN) and the HF hub."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossling.data.formats.conllu_pos import read_conllu
from crossling.data.formats.tagging_tsv import read_tagging_tsv, read_wikiann
from crossling.data.records import TaggingExample
from crossling.data.sources import SourceOptions
from crossling.errors import ConfigError, DataError
from crossling.utils.io import sha256_file

#: Bumped whenever a reader's output changes, so cached features are rebuilt.
READER_VERSION = "tagging-1"

#: Split names of the hub's tagging configs.
HUB_SPLITS = {"train": "train", "dev": "validation", "test": "test"}


@dataclass(frozen=True)
class _Located:
    """Where a (language, split) was found: the file format and its file(s)."""

    format: str  # "tsv", "conllu" or "wikiann"
    paths: tuple[Path, ...]


@dataclass
class LocalTaggingSource:
    """Word-tagged sentences from local files, tried in this order:

    1. XTREME's layout ``{data_dir}/{split}-{lang}.tsv`` (``token<TAB>tag``, ``read_tagging_tsv``);
    2. CoNLL-U treebanks matching ``conllu_pattern`` (e.g. ``{lang}/*-ud-{split}.conllu``), every
       treebank of the language merged in file-name order, as XTREME builds UD-POS;
    3. raw WikiANN files (``lang:token<TAB>TAG``) at the first of ``wikiann_paths`` that exists
       (e.g. ``{lang}-{split}`` as XTREME's download script renames them, or ``{lang}/{split}``).

    Tags must be among ``labels``; a bad line is a ``DataError`` naming ``file:line``.
    """

    task: str
    labels: Sequence[str]
    options: SourceOptions
    conllu_pattern: str | None = None
    wikiann_paths: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.options.data_dir is None:
            raise ConfigError(f"task.data_dir is required for the local source of {self.task!r}")

    def _locate(self, language: str, split: str) -> _Located:
        data_dir = Path(self.options.data_dir)  # type: ignore[arg-type]
        xtreme = data_dir / f"{split}-{language}.tsv"
        if xtreme.is_file():
            return _Located("tsv", (xtreme,))
        tried = [str(xtreme)]
        if self.conllu_pattern:
            pattern = self.conllu_pattern.format(lang=language, split=split)
            treebanks = tuple(sorted(p for p in data_dir.glob(pattern) if p.is_file()))
            if treebanks:
                return _Located("conllu", treebanks)
            tried.append(str(data_dir / pattern))
        for template in self.wikiann_paths:
            candidate = data_dir / template.format(lang=language, split=split)
            if candidate.is_file():
                return _Located("wikiann", (candidate,))
            tried.append(str(candidate))
        raise DataError(f"{self.task}: no {split} file for language {language!r}; looked for {', '.join(tried)}")

    def load(self, language: str, split: str) -> list[TaggingExample]:
        """Read (and for CoNLL-U, merge) the files of (language, split)."""
        located = self._locate(language, split)
        common: dict[str, Any] = {"tag_set": self.labels, "skip_bad_lines": self.options.skip_bad_lines}
        if located.format == "tsv":
            examples, _ = read_tagging_tsv(located.paths[0], id_prefix=f"{language}-{split}-", **common)
        elif located.format == "wikiann":
            examples, _ = read_wikiann(located.paths[0], language=language, id_prefix=f"{language}-{split}-", **common)
        else:
            examples = []
            for path in located.paths:
                part, _ = read_conllu(path, id_prefix=f"{language}-{split}-", **common)
                # Treebank file name + sent_id: unique across the merged treebanks.
                examples.extend(dataclasses.replace(e, id=f"{path.name}#{e.id}") for e in part)
        return examples[: self.options.max_examples] if self.options.max_examples else examples

    def fingerprint(self, language: str, split: str) -> str:
        """Reader version, format, content hash of every file, and options."""
        located = self._locate(language, split)
        hashes = ",".join(sha256_file(p) for p in located.paths)
        return f"{READER_VERSION}:{located.format}:{hashes}:{self.options.max_examples}:{self.options.skip_bad_lines}"


@dataclass
class HubTaggingSource:
    """Word-tagged sentences from a Hugging Face hub dataset (``datasets.load_dataset``), e.g. ``google/xtreme``.

    Tag ids are mapped to names through the tag column's ``ClassLabel`` feature, so the hub's
    class order never has to match the task's. Sentences without words are dropped.

    Args:
        config: Config-name template with ``{lang}`` (``PAN-X.{lang}``) or ``{name}``
            (``udpos.{name}``, ``name`` looked up in ``language_names``).
        language_names: Language code -> the name the config uses (``en`` -> ``English``).
        tokens: Column of the word lists.
        tags: Column of the tag lists.
        splits: crossling split name -> hub split name.
        revision: Hub revision, if pinned.
    """

    task: str
    labels: Sequence[str]
    options: SourceOptions
    dataset: str
    config: str
    tokens: str
    tags: str
    language_names: Mapping[str, str] = field(default_factory=dict)
    splits: Mapping[str, str] = field(default_factory=lambda: dict(HUB_SPLITS))
    revision: str | None = None

    def config_name(self, language: str) -> str:
        """The hub config holding ``language``; ``DataError`` if the dataset has none for it."""
        if "{name}" in self.config:
            if language not in self.language_names:
                raise DataError(
                    f"{self.task}: {self.dataset} has no config for language {language!r}; "
                    f"it has {', '.join(sorted(self.language_names))}"
                )
            return self.config.format(name=self.language_names[language], lang=language)
        return self.config.format(lang=language)

    def _hub_split(self, split: str) -> str:
        try:
            return self.splits[split]
        except KeyError:
            raise DataError(
                f"{self.task}: hub dataset {self.dataset} has no {split!r} split (has {list(self.splits)})"
            ) from None

    def load(self, language: str, split: str) -> list[TaggingExample]:
        """Download (or read from the datasets cache) and convert to ``TaggingExample``."""
        import datasets

        name = self.config_name(language)
        where = f"{self.dataset} ({name}, {split})"
        try:
            table = datasets.load_dataset(self.dataset, name, split=self._hub_split(split), revision=self.revision)
        except Exception as exc:  # noqa: BLE001 - the hub raises many types; the message is what matters
            raise DataError(
                f"{self.task}: could not load {where} from the hub: {exc}. "
                "Offline? Use `task.source: local` with task.data_dir."
            ) from None
        for column in (self.tokens, self.tags):
            if column not in table.column_names:
                raise DataError(f"{where}: no column {column!r}; columns are {table.column_names}")
        names = _class_names(table.features[self.tags])
        examples = []
        for i, row in enumerate(table):
            words, raw_tags = row[self.tokens], row[self.tags]
            if len(words) != len(raw_tags):
                raise DataError(f"{where} row {i}: {len(words)} tokens but {len(raw_tags)} tags")
            if not words:
                continue
            tags = tuple(names[t] if names is not None and isinstance(t, int) else str(t) for t in raw_tags)
            for tag in tags:
                if tag not in self.labels:
                    raise DataError(f"{where} row {i}: unknown tag {tag!r}; expected one of {list(self.labels)}")
            examples.append(TaggingExample(id=f"{language}-{split}-{len(examples)}", tokens=tuple(words), tags=tags))
        if not examples:
            raise DataError(f"{where}: no tagged sentences for {language!r}")
        return examples[: self.options.max_examples] if self.options.max_examples else examples

    def fingerprint(self, language: str, split: str) -> str:
        """Dataset id, config, split, revision and options."""
        return (
            f"{READER_VERSION}:hub:{self.dataset}:{self.config_name(language)}:{self._hub_split(split)}:"
            f"{self.revision}:{self.options.max_examples}"
        )


def _class_names(feature: Any) -> list[str] | None:
    """Class names of a tag-sequence feature (``List``/``Sequence`` of ``ClassLabel``), or ``None`` for plain strings."""
    inner = getattr(feature, "feature", feature)
    return list(inner.names) if hasattr(inner, "names") else None
