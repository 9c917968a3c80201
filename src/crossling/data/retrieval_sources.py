"""Data sources for retrieval tasks: Tatoeba (LASER files, the HF hub), BUCC 2018 mining, LAReQA and Mewsli-X ranking."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crossling.data.formats.common import (
    BadExample,
    SkipPolicy,
    fatal,
    open_text,
    split_lines,
)
from crossling.data.formats.lareqa import LareqaLanguage, read_lareqa_json
from crossling.data.formats.mewslix import read_mewslix_entities, read_mewslix_mentions
from crossling.data.formats.tatoeba import (
    TATOEBA_CODES,
    TATOEBA_FILE_CODES,
    read_tatoeba,
    tatoeba_paths,
)
from crossling.data.records import (
    Candidate,
    ParallelExample,
    RankingProblem,
    RankingQuery,
)
from crossling.data.sources import SourceOptions
from crossling.errors import ConfigError, DataError
from crossling.utils.io import sha256_file

#: Bumped whenever a reader's output changes.
READER_VERSION = "retrieval-1"


def _require_data_dir(task: str, options: SourceOptions) -> Path:
    if options.data_dir is None:
        raise ConfigError(f"task.data_dir is required for the local source of {task!r}")
    return Path(options.data_dir)


def _cap(records: list, options: SourceOptions) -> list:
    return records[: options.max_examples] if options.max_examples else records


@dataclass
class LocalTatoebaSource:
    """Tatoeba pairs from LASER's files ``{data_dir}/tatoeba.{xxx}-eng.{xxx}`` and ``.eng``.

    Only the ``test`` split exists (LASER's 1000 pairs or fewer per language). Languages are
    XTREME's two-letter codes (``de``) or LASER's file codes (``deu``). Example ``i``'s gold
    English sentence is the target of example ``i``; capping keeps the first pairs, so the
    alignment holds.
    """

    options: SourceOptions
    task: str = "tatoeba"

    def __post_init__(self) -> None:
        _require_data_dir(self.task, self.options)

    def _paths(self, language: str, split: str) -> tuple[Path, Path]:
        if split != "test":
            raise DataError(f"{self.task}: Tatoeba has only a test split, not {split!r} (set task.eval_split: test)")
        try:
            return tatoeba_paths(_require_data_dir(self.task, self.options), language)
        except KeyError as exc:
            raise DataError(f"{self.task}: {exc.args[0]}") from None

    def load(self, language: str, split: str) -> list[ParallelExample]:
        """The line-aligned pairs of ``language`` (``DataError`` for a missing or malformed file)."""
        source, target = self._paths(language, split)
        examples, _ = read_tatoeba(
            source, target, id_prefix=f"{language}-{split}-", skip_bad_lines=self.options.skip_bad_lines
        )
        return _cap(examples, self.options)

    def fingerprint(self, language: str, split: str) -> str:
        """Reader version, the hashes of both files, and the options."""
        source, target = self._paths(language, split)
        return (
            f"{READER_VERSION}:{sha256_file(source)}:{sha256_file(target)}:"
            f"{self.options.max_examples}:{self.options.skip_bad_lines}"
        )


@dataclass
class HubTatoebaSource:
    """Tatoeba pairs from the hub dataset ``google/xtreme``, configs ``tatoeba.{xxx}`` (LASER codes).

    The hub holds LASER's test pairs under its only split, ``validation``; crossling's ``test``
    maps to it. Columns: ``source_sentence`` (the non-English side) and ``target_sentence``
    (English); a ``target_lang`` column other than English is refused rather than scored backwards.

    Args:
        options: Source options (``max_examples`` caps pairs per language).
        dataset: Hub id.
        revision: Hub revision, if pinned.
    """

    options: SourceOptions
    dataset: str = "google/xtreme"
    revision: str | None = None
    task: str = "tatoeba"

    def _config(self, language: str, split: str) -> str:
        if split != "test":
            raise DataError(f"{self.task}: Tatoeba has only a test split, not {split!r} (set task.eval_split: test)")
        code = language if language in TATOEBA_CODES else TATOEBA_FILE_CODES.get(language)
        if code is None:
            raise DataError(
                f"{self.task}: no Tatoeba file code for {language!r}; known: {', '.join(sorted(TATOEBA_FILE_CODES))}"
            )
        return f"tatoeba.{code}"

    def load(self, language: str, split: str) -> list[ParallelExample]:
        """Download (or read from the datasets cache) and convert to ``ParallelExample``."""
        import datasets

        name = self._config(language, split)
        try:
            table = datasets.load_dataset(self.dataset, name, split="validation", revision=self.revision)
        except Exception as exc:  # noqa: BLE001 - the hub raises many types; the message is what matters
            raise DataError(
                f"{self.task}: could not load {self.dataset} ({name}) from the hub: {exc}. "
                "Offline? Use `task.source: local` with task.data_dir holding LASER's tatoeba.* files."
            ) from None
        examples = []
        for i, row in enumerate(table):
            target_lang = row.get("target_lang")
            if target_lang is not None and target_lang not in ("eng", "en"):
                raise DataError(
                    f"{self.dataset} ({name}) row {i}: expected English targets, found target_lang {target_lang!r}"
                )
            examples.append(
                ParallelExample(
                    id=f"{language}-{split}-{i}", source=row["source_sentence"], target=row["target_sentence"]
                )
            )
        if not examples:
            raise DataError(f"{self.dataset} ({name}): no sentence pairs")
        return _cap(examples, self.options)

    def fingerprint(self, language: str, split: str) -> str:
        """Dataset id, config, revision and options."""
        return f"{READER_VERSION}:hub:{self.dataset}:{self._config(language, split)}:{self.revision}:{self.options.max_examples}"


@dataclass(frozen=True)
class MiningCorpus:
    """A bitext-mining problem (BUCC 2018): two monolingual corpora and the gold translation pairs.

    Args:
        source_ids: Ids of the non-English sentences (``de-000000001``), in file order.
        source_texts: The sentences, aligned with ``source_ids``.
        target_ids: Ids of the English sentences (``en-000000001``).
        target_texts: The English sentences.
        gold: ``(source id, target id)`` translation pairs; empty when the split's gold file is absent.
    """

    source_ids: tuple[str, ...]
    source_texts: tuple[str, ...]
    target_ids: tuple[str, ...]
    target_texts: tuple[str, ...]
    gold: frozenset[tuple[str, str]]


def read_bucc_sentences(path: str | Path, *, skip_bad_lines: bool = False) -> tuple[list[str], list[str]]:
    """``(ids, sentences)`` of a BUCC sentence file: one ``id<TAB>sentence`` per line.

    Raises:
        DataError: naming ``path:line`` for a line without a tab, an empty id or sentence,
            a duplicate id (unless ``skip_bad_lines``), or a file without sentences.
    """
    path = Path(path)
    policy = SkipPolicy(path, skip_bad_lines, "sentence")
    rows: list[tuple[str, str]] = []
    for number, line in enumerate(split_lines(open_text(path)), start=1):
        with policy.example():
            sentence_id, tab, text = line.partition("\t")
            if not tab:
                raise BadExample(number, "expected 'id<TAB>sentence', found no tab")
            if not sentence_id.strip() or not text.strip():
                raise BadExample(number, "expected a non-empty id and sentence")
            policy.claim_id(sentence_id, number)
            rows.append((sentence_id, text))
    rows, _ = policy.finish(rows)
    return [r[0] for r in rows], [r[1] for r in rows]


def read_bucc_gold(path: str | Path) -> frozenset[tuple[str, str]]:
    """Gold pairs of a BUCC ``.gold`` file: one ``source id<TAB>target id`` per line (blank lines ignored)."""
    path = Path(path)
    pairs = set()
    for number, line in enumerate(split_lines(open_text(path)), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise fatal(path, number, f"expected 'source id<TAB>target id', found {line!r}")
        pairs.add((parts[0].strip(), parts[1].strip()))
    if not pairs:
        raise fatal(path, 1, "expected at least one gold pair, found none")
    return frozenset(pairs)


#: crossling split -> the names BUCC files use for it, tried in order (XTREME renames "sample" to "dev").
BUCC_SPLIT_NAMES: dict[str, tuple[str, ...]] = {
    "train": ("training", "train"),
    "dev": ("dev", "sample"),
    "test": ("test",),
}


@dataclass
class LocalBuccSource:
    """BUCC 2018 from ``{data_dir}/{lang}-en.{split}.{lang}``, ``.en`` and ``.gold`` (XTREME's or BUCC's layout).

    ``load`` returns one ``MiningCorpus`` per (language, split), as a one-element list. The
    gold file is optional (BUCC's test gold was not released with the data); without it the
    split can be mined but not scored. Gold ids absent from the sentence files are an error.
    """

    options: SourceOptions
    task: str = "bucc2018"

    def __post_init__(self) -> None:
        _require_data_dir(self.task, self.options)

    def _stem(self, language: str, split: str) -> Path:
        data_dir = _require_data_dir(self.task, self.options)
        names = BUCC_SPLIT_NAMES.get(split, (split,))
        for name in names:
            stem = data_dir / f"{language}-en.{name}"
            if stem.with_name(f"{stem.name}.{language}").is_file():
                return stem
        tried = ", ".join(str(data_dir / f"{language}-en.{name}.{language}") for name in names)
        raise DataError(f"{self.task}: no {split} files for language {language!r}; looked for {tried}")

    def _files(self, language: str, split: str) -> tuple[Path, Path, Path]:
        stem = self._stem(language, split)
        return (
            stem.with_name(f"{stem.name}.{language}"),
            stem.with_name(f"{stem.name}.en"),
            stem.with_name(f"{stem.name}.gold"),
        )

    def load(self, language: str, split: str) -> list[MiningCorpus]:
        """``[corpus]``: the two sentence files and the gold pairs (empty if there is no gold file)."""
        source_path, target_path, gold_path = self._files(language, split)
        skip = self.options.skip_bad_lines
        source_ids, source_texts = read_bucc_sentences(source_path, skip_bad_lines=skip)
        target_ids, target_texts = read_bucc_sentences(target_path, skip_bad_lines=skip)
        gold = read_bucc_gold(gold_path) if gold_path.is_file() else frozenset()
        known_source, known_target = set(source_ids), set(target_ids)
        for source_id, target_id in sorted(gold):
            if source_id not in known_source or target_id not in known_target:
                missing = source_id if source_id not in known_source else target_id
                raise DataError(
                    f"{gold_path}: gold pair ({source_id}, {target_id}) names {missing!r}, "
                    f"which is not in {source_path.name} or {target_path.name}"
                )
        return [MiningCorpus(tuple(source_ids), tuple(source_texts), tuple(target_ids), tuple(target_texts), gold)]

    def fingerprint(self, language: str, split: str) -> str:
        """Reader version and the hashes of the three files."""
        files = self._files(language, split)
        hashes = ":".join(sha256_file(f) if f.is_file() else "-" for f in files)
        return f"{READER_VERSION}:bucc:{hashes}:{self.options.skip_bad_lines}"


#: XQuAD-R's 11 languages (LAReQA's pool in XTREME-R).
LAREQA_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")


@dataclass
class LocalLareqaSource:
    """LAReQA (XQuAD-R) from ``{data_dir}/{lang}.json`` or ``{data_dir}/xquad-r/{lang}.json`` (LAReQA's layout).

    Every language's questions are ranked against one pool: the sentences of *all* the
    language files present (XTREME-R: 11 languages, ~13k sentences). A question's relevant
    candidates are its answer sentence in every pool language (XQuAD-R's question ids are
    shared across languages), so a perfect system ranks 11 sentences first. Only a ``test``
    split exists; ``max_examples`` caps the questions of a language, never the pool.

    Args:
        options: ``data_dir`` is required; ``params.pool_languages`` may list the pool's
            languages (default: every language of ``LAREQA_LANGUAGES`` with a file).
    """

    options: SourceOptions
    task: str = "lareqa"

    def __post_init__(self) -> None:
        _require_data_dir(self.task, self.options)
        self._parsed: dict[str, LareqaLanguage] = {}
        self._pool: tuple[Candidate, ...] | None = None

    def _path(self, language: str) -> Path:
        data_dir = _require_data_dir(self.task, self.options)
        for path in (data_dir / f"{language}.json", data_dir / "xquad-r" / f"{language}.json"):
            if path.is_file():
                return path
        raise DataError(
            f"{self.task}: no XQuAD-R file for {language!r}; looked for {data_dir / f'{language}.json'} "
            f"and {data_dir / 'xquad-r' / f'{language}.json'}"
        )

    def pool_languages(self) -> tuple[str, ...]:
        """The languages whose sentences form the candidate pool."""
        chosen = self.options.params.get("pool_languages")
        if chosen:
            return tuple(chosen)
        data_dir = _require_data_dir(self.task, self.options)
        found = tuple(
            lang
            for lang in LAREQA_LANGUAGES
            if (data_dir / f"{lang}.json").is_file() or (data_dir / "xquad-r" / f"{lang}.json").is_file()
        )
        if not found:
            raise DataError(f"{self.task}: no XQuAD-R files ({', '.join(LAREQA_LANGUAGES)}.json) in {data_dir}")
        return found

    def _language(self, language: str) -> LareqaLanguage:
        if language not in self._parsed:
            self._parsed[language], _ = read_lareqa_json(
                self._path(language), language, skip_bad_lines=self.options.skip_bad_lines
            )
        return self._parsed[language]

    def load(self, language: str, split: str) -> list[RankingProblem]:
        """``[problem]``: the language's questions against the multilingual pool."""
        if split != "test":
            raise DataError(f"{self.task}: XQuAD-R has only a test split, not {split!r} (set task.eval_split: test)")
        pool_languages = self.pool_languages()
        if language not in pool_languages:
            raise DataError(f"{self.task}: {language!r} is not among the pool languages {', '.join(pool_languages)}")
        files = [self._language(lang) for lang in pool_languages]
        if self._pool is None:
            self._pool = tuple(c for f in files for c in f.candidates)
        queries = tuple(
            RankingQuery(qid, question, tuple(f.answer_sentence[qid] for f in files if qid in f.answer_sentence))
            for qid, question in self._language(language).questions
        )
        return [RankingProblem(tuple(_cap(list(queries), self.options)), self._pool, pool_languages)]

    def fingerprint(self, language: str, split: str) -> str:
        """Reader version, the pool languages and the hashes of their files."""
        hashes = ":".join(f"{lang}={sha256_file(self._path(lang))}" for lang in self.pool_languages())
        return f"{READER_VERSION}:lareqa:{language}:{hashes}:{self.options.max_examples}:{self.options.skip_bad_lines}"


#: Mewsli-X's WikiNews languages (XTREME-R).
MEWSLIX_LANGUAGES = ("ar", "de", "en", "es", "fa", "ja", "pl", "ro", "ta", "tr", "uk")


@dataclass
class LocalMewslixSource:
    """Mewsli-X from ``{data_dir}/candidate_set_entities.jsonl`` and ``wikinews_mentions-{split}.jsonl``.

    The files are those ``get-mewsli-x.sh`` writes to ``mewsli_x/output/dataset/`` (the
    article text restored). Each language's mentions are ranked against the whole candidate
    set (about 1M entity descriptions in 50 languages; read once per source). Splits:
    ``dev`` and ``test``; ``max_examples`` caps the mentions of a language, never the set.
    """

    options: SourceOptions
    task: str = "mewslix"

    def __post_init__(self) -> None:
        _require_data_dir(self.task, self.options)
        self._entities: tuple[Candidate, ...] | None = None

    def _file(self, name: str) -> Path:
        path = _require_data_dir(self.task, self.options) / name
        if not path.is_file():
            raise DataError(
                f"{self.task}: {path} not found (Mewsli-X's get-mewsli-x.sh writes it to mewsli_x/output/dataset/)"
            )
        return path

    def load(self, language: str, split: str) -> list[RankingProblem]:
        """``[problem]``: the mentions of ``language`` against the candidate set."""
        if split not in ("dev", "test"):
            raise DataError(f"{self.task}: Mewsli-X has dev and test splits, not {split!r}")
        if self._entities is None:
            entities, _ = read_mewslix_entities(
                self._file("candidate_set_entities.jsonl"), skip_bad_lines=self.options.skip_bad_lines
            )
            self._entities = tuple(entities)
        mentions_path = self._file(f"wikinews_mentions-{split}.jsonl")
        queries, _ = read_mewslix_mentions(mentions_path, language, skip_bad_lines=self.options.skip_bad_lines)
        known = {entity.id for entity in self._entities}
        missing = sorted({q.relevant[0] for q in queries} - known)
        if missing:
            raise DataError(f"{mentions_path}: gold entities {missing[:5]} are not in candidate_set_entities.jsonl")
        pool_languages = tuple(sorted({entity.language for entity in self._entities}))
        return [RankingProblem(tuple(_cap(queries, self.options)), self._entities, pool_languages)]

    def fingerprint(self, language: str, split: str) -> str:
        """Reader version and the hashes of the candidate set and the split's mention file."""
        files = (self._file("candidate_set_entities.jsonl"), self._file(f"wikinews_mentions-{split}.jsonl"))
        hashes = ":".join(sha256_file(f) for f in files)
        return f"{READER_VERSION}:mewslix:{language}:{hashes}:{self.options.max_examples}:{self.options.skip_bad_lines}"
