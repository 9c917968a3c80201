"""Data sources for sentence-pair tasks: local files (XTREME layout or raw releases) and the HF hub."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crossling.data.formats.pair_tsv import read_pair_tsv
from crossling.data.records import PairExample
from crossling.data.sources import SourceOptions
from crossling.errors import ConfigError, DataError
from crossling.utils.io import sha256_file

#: Bumped whenever a reader's output changes, so cached features are rebuilt.
READER_VERSION = "pair-1"


@dataclass(frozen=True)
class RawPairLayout:
    """Where a raw (non-XTREME) release keeps a (language, split) and how its TSV is laid out.

    Args:
        path: Path template relative to ``data_dir`` with ``{lang}`` (e.g. ``{lang}/dev_2k.tsv``).
        text_a: Header name of the first sentence column.
        text_b: Header name of the second sentence column.
        label: Header name of the label column.
        language_column: Header name of a language column to filter on (XNLI's one-file-per-split).
    """

    path: str
    text_a: str
    text_b: str
    label: str
    language_column: str | None = None


@dataclass
class LocalPairSource:
    """Sentence pairs from local files.

    Looks first for XTREME's layout ``{data_dir}/{split}-{lang}.tsv`` (three columns, no
    header), then for the task's raw-release layouts (``raw_layouts[split]``, tried in order).
    """

    task: str
    labels: Sequence[str]
    options: SourceOptions
    raw_layouts: Mapping[str, Sequence[RawPairLayout]] = field(default_factory=dict)
    label_aliases: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.options.data_dir is None:
            raise ConfigError(f"task.data_dir is required for the local source of {self.task!r}")

    def _locate(self, language: str, split: str) -> tuple[Path, RawPairLayout | None]:
        data_dir = Path(self.options.data_dir)  # type: ignore[arg-type]
        xtreme = data_dir / f"{split}-{language}.tsv"
        if xtreme.is_file():
            return xtreme, None
        tried = [str(xtreme)]
        for layout in self.raw_layouts.get(split, ()):
            candidate = data_dir / layout.path.format(lang=language)
            if candidate.is_file():
                return candidate, layout
            tried.append(str(candidate))
        raise DataError(f"{self.task}: no {split} file for language {language!r}; looked for {', '.join(tried)}")

    def load(self, language: str, split: str) -> list[PairExample]:
        """Read the (language, split) file, labels mapped by name."""
        path, layout = self._locate(language, split)
        common = dict(
            labels=self.labels,
            label_aliases=self.label_aliases,
            skip_bad_lines=self.options.skip_bad_lines,
            id_prefix=f"{language}-{split}-",
        )
        if layout is None:
            examples, _ = read_pair_tsv(path, **common)
        else:
            examples, _ = read_pair_tsv(
                path,
                header=True,
                text_a=layout.text_a,
                text_b=layout.text_b,
                label=layout.label,
                filter_column=layout.language_column,
                filter_value=language if layout.language_column else None,
                **common,
            )
        return examples[: self.options.max_examples] if self.options.max_examples else examples

    def fingerprint(self, language: str, split: str) -> str:
        """Reader version, file content hash and options."""
        path, _ = self._locate(language, split)
        return f"{READER_VERSION}:{sha256_file(path)}:{self.options.max_examples}:{self.options.skip_bad_lines}"


@dataclass
class HubPairSource:
    """Sentence pairs from a Hugging Face hub dataset (``datasets.load_dataset``).

    Label ids are mapped to names through the dataset's ``ClassLabel`` feature, so the order
    of the hub's classes never has to match the task's.

    Args:
        dataset: Hub id (``facebook/xnli``).
        config: Config-name template with ``{lang}`` (``{lang}``, ``PAWS-X.{lang}``).
        splits: crossling split name -> hub split name.
        text_a, text_b, label: Column names.
        language_column: Column to filter on when one config holds every language.
        revision: Hub revision, if pinned.
    """

    task: str
    labels: Sequence[str]
    options: SourceOptions
    dataset: str
    config: str
    splits: Mapping[str, str]
    text_a: str
    text_b: str
    label: str
    language_column: str | None = None
    revision: str | None = None

    def _hub_split(self, split: str) -> str:
        try:
            return self.splits[split]
        except KeyError:
            raise DataError(
                f"{self.task}: hub dataset {self.dataset} has no {split!r} split (has {list(self.splits)})"
            ) from None

    def load(self, language: str, split: str) -> list[PairExample]:
        """Download (or read from the datasets cache) and convert to ``PairExample``."""
        import datasets

        name = self.config.format(lang=language)
        try:
            table = datasets.load_dataset(self.dataset, name, split=self._hub_split(split), revision=self.revision)
        except Exception as exc:  # noqa: BLE001 - the hub raises many types; the message is what matters
            raise DataError(
                f"{self.task}: could not load {self.dataset} ({name}, {split}) from the hub: {exc}. "
                "Offline? Use `task.source: local` with task.data_dir."
            ) from None
        feature = table.features.get(self.label)
        names = getattr(feature, "names", None)
        examples = []
        for i, row in enumerate(table):
            if self.language_column and row[self.language_column] != language:
                continue
            raw = row[self.label]
            label = names[raw] if names is not None and isinstance(raw, int) else str(raw)
            if label not in self.labels:
                if raw == -1:  # unlabelled rows (e.g. hidden test labels)
                    continue
                raise DataError(
                    f"{self.dataset} ({name}, {split}) row {i}: unknown label {label!r}; expected {list(self.labels)}"
                )
            examples.append(
                PairExample(
                    id=f"{language}-{split}-{len(examples)}",
                    text_a=row[self.text_a],
                    text_b=row[self.text_b],
                    label=label,
                )
            )
        if not examples:
            raise DataError(f"{self.dataset} ({name}, {split}): no labelled examples for {language!r}")
        return examples[: self.options.max_examples] if self.options.max_examples else examples

    def fingerprint(self, language: str, split: str) -> str:
        """Dataset id, config, split, revision and options."""
        return (
            f"{READER_VERSION}:hub:{self.dataset}:{self.config.format(lang=language)}:{self._hub_split(split)}:"
            f"{self.revision}:{self.options.max_examples}"
        )
