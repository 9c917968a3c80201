"""Reader for LASER's line-aligned Tatoeba files (``tatoeba.{xxx}-eng.{xxx}``, ``.eng``) into ``ParallelExample``s."""

from __future__ import annotations

from pathlib import Path

from crossling.data.formats.common import BadExample, SkipPolicy, fatal, open_text, split_lines
from crossling.data.records import ParallelExample

#: LASER's ISO 639-3 file codes -> the ISO 639-1 codes XTREME uses: the 36 XTREME languages
#: and XTREME-R's additions (aze, lit, pol, ron, ukr). ``cmn``, ``pes`` and ``swh`` are
#: LASER's codes for Chinese, Persian and Swahili.
TATOEBA_CODES: dict[str, str] = {
    "afr": "af", "ara": "ar", "aze": "az", "ben": "bn", "bul": "bg", "cmn": "zh", "deu": "de",
    "ell": "el", "est": "et", "eus": "eu", "fin": "fi", "fra": "fr", "heb": "he", "hin": "hi",
    "hun": "hu", "ind": "id", "ita": "it", "jav": "jv", "jpn": "ja", "kat": "ka", "kaz": "kk",
    "kor": "ko", "lit": "lt", "mal": "ml", "mar": "mr", "nld": "nl", "pes": "fa", "pol": "pl",
    "por": "pt", "ron": "ro", "rus": "ru", "spa": "es", "swh": "sw", "tam": "ta", "tel": "te",
    "tgl": "tl", "tha": "th", "tur": "tr", "ukr": "uk", "urd": "ur", "vie": "vi",
}  # fmt: skip

#: The inverse table: ISO 639-1 -> LASER file code.
TATOEBA_FILE_CODES: dict[str, str] = {two: three for three, two in TATOEBA_CODES.items()}


def tatoeba_paths(data_dir: str | Path, language: str) -> tuple[Path, Path]:
    """``(source, english)`` file paths of a language, given as ``de`` or as LASER's ``deu``.

    Raises:
        KeyError: for a language outside ``TATOEBA_CODES`` (the message lists the known ones).
    """
    code = language if language in TATOEBA_CODES else TATOEBA_FILE_CODES.get(language)
    if code is None:
        raise KeyError(f"no Tatoeba file code for {language!r}; known: {', '.join(sorted(TATOEBA_FILE_CODES))}")
    stem = Path(data_dir) / f"tatoeba.{code}-eng"
    return stem.with_name(f"{stem.name}.{code}"), stem.with_name(f"{stem.name}.eng")


def read_tatoeba(
    source_path: str | Path,
    target_path: str | Path,
    *,
    id_prefix: str = "",
    skip_bad_lines: bool = False,
) -> tuple[list[ParallelExample], int]:
    """Read a line-aligned Tatoeba pair: line i of ``source_path`` translates line i of ``target_path``.

    The gold English sentence of example ``i`` is the target of example ``i``: retrieval
    scores are computed over the targets of the returned list, in order. Lines are kept
    verbatim (only the line break is removed).

    Args:
        source_path: The non-English side (``tatoeba.deu-eng.deu``).
        target_path: The English side (``tatoeba.deu-eng.eng``).
        id_prefix: Example ids are ``f"{id_prefix}{i}"``, ``i`` the 0-based line index
            (kept even when earlier pairs were skipped).
        skip_bad_lines: Skip a pair with an empty side instead of failing.

    Returns:
        ``(examples, skipped)``: the pairs, and how many were skipped (0 unless
        ``skip_bad_lines``).

    Raises:
        DataError: naming ``path:line`` for an empty line, files of different line counts
            (at the first line one file lacks), a missing file, or no pairs.
    """
    source_path, target_path = Path(source_path), Path(target_path)
    sources = split_lines(open_text(source_path))
    targets = split_lines(open_text(target_path))
    if len(sources) != len(targets):
        shorter, longer = (source_path, target_path) if len(sources) < len(targets) else (target_path, source_path)
        line = min(len(sources), len(targets)) + 1
        raise fatal(shorter, line, f"expected a line aligned with {longer.name}:{line}, found the end of the file")
    policy = SkipPolicy(source_path, skip_bad_lines, "sentence pair")
    examples: list[ParallelExample] = []
    for index, (source, target) in enumerate(zip(sources, targets, strict=True)):
        with policy.example():
            for path, text in ((source_path, source), (target_path, target)):
                if not text.strip():
                    raise BadExample(index + 1, f"expected a sentence, found an empty line in {path.name}")
            examples.append(ParallelExample(id=f"{id_prefix}{index}", source=source, target=target))
    return policy.finish(examples)
