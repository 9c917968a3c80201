"""Reader for SQuAD v1.1 JSON (XQuAD, MLQA, TyDiQA-GoldP) into ``QAExample``s, and MLQA's file names."""

from __future__ import annotations

import bisect
import json
import re
from pathlib import Path
from typing import Any

from crossling.data.formats.common import BadExample, SkipPolicy, fatal, open_text
from crossling.data.records import Answer, QAExample

_MLQA_NAME = re.compile(r"(?P<split>[a-z]+)-context-(?P<context>[a-z]{2})-question-(?P<question>[a-z]{2})\.json")


def mlqa_file_name(context_language: str, question_language: str, split: str = "dev") -> str:
    """MLQA's file name for a split and language pair: ``dev-context-de-question-en.json``."""
    return f"{split}-context-{context_language}-question-{question_language}.json"


def parse_mlqa_file_name(name: str) -> tuple[str, str, str]:
    """``(split, context_language, question_language)`` of an MLQA file name; ``ValueError`` if it is not one."""
    match = _MLQA_NAME.fullmatch(Path(name).name)
    if match is None:
        raise ValueError(f"{name!r} is not an MLQA file name like 'dev-context-de-question-en.json'")
    return match["split"], match["context"], match["question"]


def read_squad_json(
    path: str | Path,
    *,
    require_answers: bool = True,
    skip_bad_lines: bool = False,
) -> tuple[list[QAExample], int]:
    """Read a SQuAD v1.1 JSON file: ``{"data": [{"title", "paragraphs": [{"context", "qas": [...]}]}]}``.

    Every answer must be a span of its context: ``context[answer_start:answer_start +
    len(text)] == text``. Answers with empty text (XTREME blanks test answers to
    ``{"text": "", "answer_start": 0}``) are dropped; with ``require_answers`` a question
    must keep at least one. Question ids must be unique in the file. The ``version`` field
    is not checked (MLQA writes the number 1.0, XQuAD the string "1.1").

    Errors inside one question (bad span, missing field, duplicate id) name the file, the
    line where that question's id appears in the file, and the id; ``skip_bad_lines`` skips
    such questions. A file that is not JSON, or has no ``data`` list of articles with
    ``paragraphs``, is always an error.

    Args:
        path: The JSON file.
        require_answers: Reject questions without a non-empty gold answer (set ``False``
            for unlabelled test files).
        skip_bad_lines: Skip malformed questions instead of failing.

    Returns:
        ``(examples, skipped)``: the questions in file order, and how many were skipped.

    Raises:
        DataError: as described above, or for a missing file or a file without questions.
    """
    path = Path(path)
    text = open_text(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise fatal(
            path, err.lineno, f"expected SQuAD JSON, found invalid JSON ({err.msg}, column {err.colno})"
        ) from None
    articles = document.get("data") if isinstance(document, dict) else None
    if not isinstance(articles, list):
        raise fatal(path, 1, "expected a JSON object with a 'data' list of articles")
    policy = SkipPolicy(path, skip_bad_lines, "question")
    locator = _IdLocator(text)
    examples: list[QAExample] = []
    for a, article in enumerate(articles):
        for p, paragraph in enumerate(_paragraphs(path, article, a)):
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            qas = paragraph.get("qas") if isinstance(paragraph, dict) else None
            if not isinstance(context, str) or not isinstance(qas, list):
                raise fatal(path, None, f"article {a}, paragraph {p}: expected a 'context' string and a 'qas' list")
            for qa in qas:
                with policy.example():
                    qid = _question_id(qa)
                    line = locator.line(qid)
                    policy.claim_id(qid, line)
                    examples.append(_question(qa, qid, line, context, str(article.get("title", "")), require_answers))
    return policy.finish(examples)


def _paragraphs(path: Path, article: Any, index: int) -> list[Any]:
    paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
    if not isinstance(paragraphs, list):
        raise fatal(path, None, f"article {index}: expected a 'paragraphs' list")
    return paragraphs


def _question_id(qa: Any) -> str:
    if not isinstance(qa, dict) or not isinstance(qa.get("id"), str) or not qa["id"]:
        raise BadExample(None, f"expected a question object with a string 'id', found {str(qa)[:80]!r}")
    return qa["id"]


def _question(qa: dict, qid: str, line: int | None, context: str, title: str, require_answers: bool) -> QAExample:
    question, raw_answers = qa.get("question"), qa.get("answers")
    if not isinstance(question, str) or not isinstance(raw_answers, list):
        raise BadExample(line, f"question {qid!r}: expected a 'question' string and an 'answers' list")
    answers = tuple(_answer(raw, context, qid, line) for raw in raw_answers)
    answers = tuple(answer for answer in answers if answer.text)
    if require_answers and not answers:
        raise BadExample(line, f"question {qid!r}: expected at least one non-empty answer, found none")
    return QAExample(id=qid, context=context, question=question, answers=answers, title=title)


def _answer(raw: Any, context: str, qid: str, line: int | None) -> Answer:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str) or type(raw.get("answer_start")) is not int:
        raise BadExample(
            line, f"question {qid!r}: expected answers as {{'text': str, 'answer_start': int}}, found {raw!r}"
        )
    text, start = raw["text"], raw["answer_start"]
    if text and context[start : start + len(text)] != text:
        found = context[start : start + len(text)] if 0 <= start < len(context) else "<outside the context>"
        raise BadExample(
            line,
            f"question {qid!r}: answer_start {start} does not point at the answer: "
            f"expected {text!r}, context has {found!r} there",
        )
    return Answer(text=text, start=start)


class _IdLocator:
    """Line numbers of question ids in the raw JSON text, found by a cursor moving through the file in order."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._cursor = 0
        self._newlines: list[int] | None = None

    def line(self, qid: str) -> int | None:
        """Line of the next occurrence of the JSON string ``qid`` after the last one found, ``None`` if absent."""
        for needle in (json.dumps(qid, ensure_ascii=False), json.dumps(qid)):
            found = self._text.find(needle, self._cursor)
            if found < 0:
                found = self._text.find(needle)
            if found >= 0:
                self._cursor = found + len(needle)
                return self._line_of(found)
        return None

    def _line_of(self, offset: int) -> int:
        if self._newlines is None:
            self._newlines = [match.start() for match in re.finditer("\n", self._text)]
        return bisect.bisect_right(self._newlines, offset) + 1
