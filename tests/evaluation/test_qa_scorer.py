"""QA scorer: gold one-hot logits score 100, n-best limits (length, order, context only), answers JSON, MLQA language."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tiny import WORDS, train_tokenizer

from crossling.data.featurizers.qa import NO_OFFSET, featurize_qa
from crossling.data.qa_sources import answer_language, split_language_code
from crossling.data.records import Answer, QAExample
from crossling.errors import ConfigError
from crossling.evaluation.scorers.qa import (
    MAX_ANSWER_TOKENS,
    answers_json,
    best_window_span,
    score_qa,
)
from crossling.tasks import get_task


def _records(n: int = 30) -> list[QAExample]:
    words = WORDS["en"]
    records = []
    for i in range(n):
        tokens = [words[(i + k) % len(words)] for k in range(8)]
        context = " ".join(tokens)
        answer = " ".join(tokens[3:5])
        records.append(QAExample(f"q{i}", context, "which words ?", (Answer(answer, context.index(answer)),)))
    return records


def _one_hot(columns) -> list[np.ndarray]:
    out = []
    for (start, end), length in zip(columns["labels"], columns["length"], strict=True):
        logits = np.zeros((length, 2), dtype=np.float32)
        logits[start, 0] = logits[end, 1] = 5.0
        out.append(logits)
    return out


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer([" ".join(WORDS["en"]) + " which words ?"] * 5)


def test_one_hot_logits_on_the_gold_span_give_exact_match_100(tokenizer):
    task, records = get_task("xquad"), _records()
    columns = featurize_qa(records, task.labels, tokenizer, 11)  # several windows per question
    assert len(columns["input_ids"]) > len(records)
    result = task.kind_plugin.score(task, _one_hot(columns), columns, records, language="en")
    assert result.metrics["exact_match"] == 100.0 and result.metrics["squad"] == result.metrics["f1"] == 100.0
    assert result.predictions == {r.id: r.answers[0].text for r in records} and result.count == len(records)


def _window(*peaks: tuple[int, int, float]) -> tuple[np.ndarray, list]:
    """Logits of a window ([CLS], a question token, 60 context tokens, [SEP]); peaks are (start, end, logit)."""
    offsets = [NO_OFFSET, NO_OFFSET] + [(i, i + 1) for i in range(60)] + [NO_OFFSET]
    logits = np.full((len(offsets), 2), -10.0, dtype=np.float32)
    logits[0] = logits[1] = logits[-1] = [100.0, 100.0]  # CLS, question and SEP tokens are never picked
    for start, end, value in peaks:
        logits[start, 0], logits[end, 1] = value, value
    return logits, offsets


def test_n_best_keeps_spans_short_ordered_and_inside_the_context():
    too_long = _window((5, 5 + MAX_ANSWER_TOKENS + 10, 9.0), (52, 54, 3.0))
    assert best_window_span(*too_long) == (6.0, 52, 54)
    reversed_ = _window((50, 45, 8.0), (10, 12, 3.0))
    assert best_window_span(*reversed_) == (6.0, 10, 12)
    longest = _window((5, 5 + MAX_ANSWER_TOKENS - 1, 4.0))
    assert best_window_span(*longest) == (8.0, 5, 5 + MAX_ANSWER_TOKENS - 1)
    logits, offsets = _window()
    assert best_window_span(logits, [NO_OFFSET] * len(offsets)) is None


def test_the_best_window_of_a_question_wins():
    context = "alpha beta gamma delta"
    record = QAExample("q", context, "?", (Answer("delta", 17),))
    offsets = [NO_OFFSET, (0, 5), (6, 10), (11, 16), (17, 22)]
    weak, strong = np.zeros((5, 2)), np.zeros((5, 2))
    weak[1] = [1.0, 1.0]
    strong[4] = [2.0, 2.0]
    features = {"offset_mapping": [offsets, offsets], "example_index": [0, 0], "example_id": ["q", "q"]}
    result = score_qa(get_task("xquad"), [weak, strong], features, [record], language="en")
    assert result.predictions == {"q": "delta"}


def test_mlqa_is_normalized_in_the_answer_language_of_the_code():
    context = "der Hund schläft"
    record = QAExample("q", context, "?", (Answer("Hund", 4),))
    offsets = [NO_OFFSET, (0, 3), (4, 8), (9, 16)]
    logits = np.zeros((4, 2))
    logits[1, 0], logits[2, 1] = 1.0, 1.0  # predicts "der Hund"
    features = {"offset_mapping": [offsets], "example_index": [0], "example_id": ["q"]}
    for code in ("de", "de-en"):
        assert score_qa(get_task("mlqa"), [logits], features, [record], language=code).metrics["exact_match"] == 100.0
    assert score_qa(get_task("xquad"), [logits], features, [record], language="de").metrics["exact_match"] == 0.0
    assert answer_language("de-en") == "de" and split_language_code("zh") == ("zh", "zh")
    with pytest.raises(ConfigError):
        split_language_code("de-")


def test_answers_json_is_the_official_id_to_answer_object():
    extension, text = get_task("xquad").kind_plugin.prediction_file(get_task("xquad"), {"a": "308", "b": "卡万·肖特"})
    assert extension == "json" and json.loads(text) == {"a": "308", "b": "卡万·肖特"}
    assert "卡万" in answers_json(get_task("xquad"), {"b": "卡万"})  # not \u-escaped
