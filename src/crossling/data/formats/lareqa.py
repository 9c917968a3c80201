"""Reader for LAReQA's XQuAD-R / MLQA-R files: SQuAD v1.1 JSON whose paragraphs carry ``sentences`` and ``sentence_breaks``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from crossling.data.formats.common import BadExample, SkipPolicy, fatal, open_text
from crossling.data.records import Candidate


@dataclass(frozen=True)
class LareqaLanguage:
    """One language file of XQuAD-R / MLQA-R, as retrieval needs it.

    Args:
        language: The file's language.
        candidates: Every sentence of every paragraph, ids ``{lang}/{article}-{paragraph}/{sentence}``
            (article and paragraph positions are parallel across XQuAD-R's languages).
        questions: ``(question id, question text)`` in file order.
        answer_sentence: Question id -> id of the candidate that contains its first answer.
    """

    language: str
    candidates: tuple[Candidate, ...]
    questions: tuple[tuple[str, str], ...]
    answer_sentence: dict[str, str]


#: A regex sentence splitter for ``add_sentence_breaks``: after ``.!?`` or the Devanagari danda when
#: whitespace follows, after the CJK full stops always. Thai, which marks sentence ends by a space
#: only, is not split. LAReQA's own files come with breaks from a real segmenter.
SENTENCE_END = re.compile(r"(?<=[.!?\u0964])\s+|(?<=[\u3002\uff01\uff1f])")


def add_sentence_breaks(document: dict, sentence_end: re.Pattern[str] = SENTENCE_END) -> int:
    """Give every paragraph of a SQuAD v1.1 document ``sentences`` and ``sentence_breaks`` (XQuAD-R form), in place.

    An approximation of LAReQA's files for data that has none (e.g. plain XQuAD): contexts are
    split with ``sentence_end``. Returns the number of sentences.
    """
    count = 0
    for article in document["data"]:
        for paragraph in article["paragraphs"]:
            context, breaks, start = paragraph["context"], [], 0
            for piece in filter(None, sentence_end.split(context)):
                begin = context.index(piece, start)
                breaks.append([begin, begin + len(piece)])
                start = begin + len(piece)
            paragraph["sentences"] = [context[s:e] for s, e in breaks]
            paragraph["sentence_breaks"] = breaks
            count += len(breaks)
    return count


def _sentence_of(breaks: list, offset: int) -> int:
    """Index of the sentence whose ``[start, end)`` break holds ``offset`` (an offset in a gap goes to the one before)."""
    chosen = 0
    for index, (start, _end) in enumerate(breaks):
        if start <= offset:
            chosen = index
    return chosen


def read_lareqa_json(path: str | Path, language: str, *, skip_bad_lines: bool = False) -> tuple[LareqaLanguage, int]:
    """Read ``xquad-r/{lang}.json`` (or ``mlqa-r``): the candidate sentences, the questions and their answer sentences.

    Each paragraph must have ``sentences`` (strings) and ``sentence_breaks`` (``[start, end]``
    character offsets into ``context``), of equal length; a question's answer sentence is the
    one whose break contains the first answer's ``answer_start``. A question without an
    answer, or whose answer lies outside the context, is a bad example (skippable). Duplicate
    question ids are an error.

    Returns:
        ``(language data, skipped questions)``.

    Raises:
        DataError: naming the file (and the question id) for a missing file, invalid JSON,
            a paragraph without sentence breaks, or, unless skipped, a bad question.
    """
    path = Path(path)
    text = open_text(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise fatal(path, err.lineno, f"expected XQuAD-R JSON, found invalid JSON ({err.msg})") from None
    articles = document.get("data") if isinstance(document, dict) else None
    if not isinstance(articles, list):
        raise fatal(path, None, 'expected {"data": [articles with "paragraphs"]} (SQuAD v1.1 with sentence breaks)')
    policy = SkipPolicy(path, skip_bad_lines, "question")
    candidates: list[Candidate] = []
    questions: list[tuple[str, str]] = []
    answer_sentence: dict[str, str] = {}
    for a, article in enumerate(articles):
        for p, paragraph in enumerate(article.get("paragraphs", [])):
            sentences, breaks = paragraph.get("sentences"), paragraph.get("sentence_breaks")
            if (
                not isinstance(sentences, list)
                or not isinstance(breaks, list)
                or len(sentences) != len(breaks)
                or not sentences
            ):
                raise fatal(
                    path,
                    None,
                    f"article {a} paragraph {p}: expected equally long non-empty 'sentences' and "
                    "'sentence_breaks' lists (an XQuAD-R / MLQA-R file, not plain XQuAD)",
                )
            prefix = f"{language}/{a}-{p}"
            candidates.extend(
                Candidate(f"{prefix}/{s}", str(sentence), language) for s, sentence in enumerate(sentences)
            )
            context_length = len(paragraph.get("context", ""))
            for qa in paragraph.get("qas", []):
                with policy.example():
                    qid = str(qa.get("id", ""))
                    if not qid:
                        raise BadExample(None, f"article {a} paragraph {p}: a question without an id")
                    policy.claim_id(qid, None)
                    answers = qa.get("answers") or [{}]
                    start = answers[0].get("answer_start", -1) if isinstance(answers[0], dict) else -1
                    if not isinstance(start, int) or not 0 <= start < max(context_length, 1):
                        raise BadExample(None, f"question {qid}: no answer_start inside its context")
                    questions.append((qid, str(qa.get("question", "")).strip()))
                    answer_sentence[qid] = f"{prefix}/{_sentence_of(breaks, start)}"
    questions_kept, skipped = policy.finish(questions)
    return LareqaLanguage(language, tuple(candidates), tuple(questions_kept), answer_sentence), skipped
