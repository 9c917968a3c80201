"""Per-example statistics: the column sums of every metric's rows give exactly the corpus metric."""

from __future__ import annotations

import random

import numpy as np
import pytest

from crossling.data.formats.conllu_pos import UPOS_TAGS
from crossling.data.records import Answer, QAExample
from crossling.evaluation import squad
from crossling.evaluation.example_stats import (
    ExampleStatistic,
    accuracy_stats,
    bucc_stats,
    ids_digest,
    map_stats,
    metric_from_sums,
    pos_accuracy_stats,
    qa_stats,
    seqeval_stats,
)
from crossling.evaluation.metrics import (
    accuracy,
    bucc_f1,
    map_at_20,
    mlqa_em_f1,
    pos_accuracy,
    seqeval_f1,
    squad_em_f1,
    tatoeba_accuracy,
)

REL = 1e-12  # sums of non-integer values may differ from the metric's own loop in the last bit


def _random_tags(rng: random.Random, tags: list[str], sentences: int) -> list[list[str]]:
    return [[rng.choice(tags) for _ in range(rng.randint(1, 9))] for _ in range(sentences)]


def test_accuracy_rows_sum_to_the_accuracy_exactly():
    rng = random.Random(0)
    gold = [rng.choice("abc") for _ in range(301)]
    predicted = [g if rng.random() < 0.6 else rng.choice("abc") for g in gold]
    stats = accuracy_stats(predicted, gold, range(301))
    assert stats.stats.shape == (301, 2) and stats.statistic.columns == ("value", "count")
    assert stats.value() == accuracy(predicted, gold)["accuracy"]


def test_tatoeba_rows_sum_to_the_retrieval_accuracy_exactly():
    predicted, gold = [0, 1, 5, 3, 3, 2, 6], list(range(7))
    stats = accuracy_stats(predicted, gold, [f"q{i}" for i in range(7)], metric="tatoeba_accuracy")
    assert stats.value() == tatoeba_accuracy(predicted, gold)["accuracy"] == pytest.approx(100 * 4 / 7)


def test_pos_rows_are_correct_tokens_and_tokens_and_sum_to_token_accuracy_exactly():
    rng = random.Random(1)
    gold = _random_tags(rng, list(UPOS_TAGS), 50)
    predicted = [[t if rng.random() < 0.7 else rng.choice(UPOS_TAGS) for t in sentence] for sentence in gold]
    stats = pos_accuracy_stats(predicted, gold, range(50))
    assert stats.stats[:, 1].tolist() == [len(sentence) for sentence in gold]
    assert stats.value() == pos_accuracy(predicted, gold)["accuracy"]


def test_seqeval_rows_are_tp_fp_fn_per_sentence_by_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"], ["O", "O"]]
    predicted = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"], ["B-MISC", "O"]]
    stats = seqeval_stats(predicted, gold, ["a", "b", "c"])
    assert stats.stats.tolist() == [[1, 1, 1], [1, 0, 0], [0, 1, 0]]
    assert stats.statistic.columns == ("tp", "fp", "fn")
    assert stats.value() == pytest.approx(seqeval_f1(predicted, gold)["f1"], rel=REL)


@pytest.mark.parametrize(
    "tags", [["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG"], list(UPOS_TAGS)], ids=["bio-entities", "upos-quirk"]
)
def test_seqeval_rows_sum_to_seqevals_corpus_f1(tags):
    rng = random.Random(2)
    gold = _random_tags(rng, tags, 80)
    predicted = [[t if rng.random() < 0.6 else rng.choice(tags) for t in sentence] for sentence in gold]
    stats = seqeval_stats(predicted, gold, range(80))
    assert stats.value() == pytest.approx(seqeval_f1(predicted, gold)["f1"], rel=REL)


def test_f1_rule_is_zero_without_a_true_positive():
    assert seqeval_stats([["O"]], [["B-PER"]], ["x"]).value() == 0.0 == seqeval_f1([["O"]], [["B-PER"]])["f1"]


def _questions() -> tuple[dict[str, str], list[QAExample]]:
    examples = [
        QAExample("q1", "The cat sat on the mat.", "Who sat?", (Answer("The cat", 0),)),
        QAExample("q2", "It rained in Paris today.", "Where?", (Answer("Paris", 13), Answer("in Paris", 10))),
        QAExample("q3", "Numbers: one two three.", "Which?", (Answer("one two three", 9),)),
        QAExample("q4", "Nothing here.", "What?", (Answer("Nothing", 0),)),
    ]
    return {"q1": "cat", "q2": "Paris today", "q3": "two three four"}, examples  # q4 unanswered


@pytest.mark.parametrize("column", ["f1", "exact_match"])
def test_squad_rows_sum_to_squad_em_and_f1(column):
    predictions, examples = _questions()
    stats = qa_stats(predictions, examples, metric="squad", column=column)
    assert stats.ids == ("q1", "q2", "q3", "q4") and stats.stats[3].tolist() == [0.0, 1.0]
    assert stats.value() == pytest.approx(squad_em_f1(predictions, examples)[column], rel=REL)


def test_mlqa_rows_use_the_answer_languages_normalization():
    predictions = {"z1": "北京大学", "z2": "上海"}
    examples = [
        QAExample("z1", "他在北京大学。", "?", (Answer("北京", 2),)),
        QAExample("z2", "上海很大。", "?", (Answer("上海", 0),)),
    ]
    normalize = lambda text: squad.normalize_mlqa(text, "zh")  # noqa: E731
    stats = qa_stats(predictions, examples, metric="mlqa", normalize=normalize)
    assert stats.value() == pytest.approx(mlqa_em_f1(predictions, examples, language="zh")["f1"], rel=REL)


def test_map_rows_are_average_precisions_and_sum_to_map_at_20():
    rankings = [["a", "b", "c"], ["x", "y", "z"], ["m"] + [f"n{i}" for i in range(30)]]
    relevant = [{"b"}, {"x", "z"}, {"n25"}]
    stats = map_stats(rankings, relevant, ["q1", "q2", "q3"])
    assert stats.stats[:, 0].tolist() == pytest.approx([0.5, (1 + 2 / 3) / 2, 0.0])
    assert stats.value() == pytest.approx(map_at_20(rankings, relevant)["map@20"], rel=REL)


def test_bucc_rows_are_per_source_sentence_and_sum_to_bucc_f1():
    gold = [("s1", "t1"), ("s2", "t2"), ("s3", "t3")]
    predicted = [("s1", "t1"), ("s2", "t9"), ("s4", "t4"), ("s1", "t1")]
    stats = bucc_stats(predicted, gold, ["s1", "s2", "s3", "s4", "s5"])
    assert stats.stats.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1], [0, 1, 0], [0, 0, 0]]
    assert stats.value() == pytest.approx(bucc_f1(predicted, gold)["f1"], rel=REL)
    with pytest.raises(ValueError, match="not in the split"):
        bucc_stats([("s9", "t1")], gold, ["s1", "s2", "s3"])


def test_metric_from_sums_is_vectorized_and_rejects_unknown_rules():
    sums = np.array([[[3, 4], [0, 0]], [[1, 2], [2, 2]]], dtype=float)
    assert metric_from_sums("ratio", sums).tolist() == [[75.0, 0.0], [50.0, 100.0]]
    assert metric_from_sums("f1", np.array([[1, 1, 1], [0, 3, 3]])).tolist() == [50.0, 0.0]
    with pytest.raises(ValueError, match="unknown aggregate rule 'median'"):
        metric_from_sums("median", sums)
    with pytest.raises(ValueError, match="unknown aggregate rule"):
        ExampleStatistic("median", ("x",))


def test_ids_hash_changes_with_order_and_content():
    assert ids_digest(["a", "b"]) != ids_digest(["b", "a"]) != ids_digest(["a", "c"])
    assert accuracy_stats([1], [1], ["a"]).ids_hash() == ids_digest(["a"])
