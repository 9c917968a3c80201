"""Metric definitions on small hand-computed cases and the official edge cases (SQuAD, MLQA, seqeval)."""

from __future__ import annotations

import pytest

from crossling.data.records import Answer, QAExample
from crossling.evaluation import squad
from crossling.evaluation.metrics import (
    average_precision_at_k,
    bucc_f1,
    get_metric,
    list_metrics,
    map_at_k,
    mlqa_em_f1,
    pos_accuracy,
    qa_references,
    seqeval_f1,
    squad_em_f1,
    tatoeba_accuracy,
)


def test_every_metric_of_this_module_is_registered_and_f1_is_seqeval():
    assert {
        "accuracy",
        "f1",
        "seqeval_f1",
        "pos_accuracy",
        "squad",
        "mlqa",
        "tatoeba_accuracy",
        "map_at_20",
        "bucc_f1",
    } <= set(list_metrics())
    assert get_metric("f1") is get_metric("seqeval_f1") is seqeval_f1


def test_seqeval_f1_counts_exact_entity_matches():
    references = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    predictions = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]]
    # gold {PER 0-1, LOC 3, ORG s2}, predicted {PER 0-1, ORG 3, ORG s2}: 2 of 3 on each side.
    scores = seqeval_f1(predictions, references)
    assert scores == pytest.approx({"f1": 200 / 3, "precision": 200 / 3, "recall": 200 / 3})


def test_seqeval_f1_gives_partial_spans_no_credit_and_starts_a_chunk_at_i_after_o():
    references = [["B-LOC", "I-LOC", "I-LOC", "O"], ["O", "I-PER", "I-PER"]]
    predictions = [["B-LOC", "I-LOC", "O", "O"], ["O", "B-PER", "I-PER"]]
    # LOC 0-2 vs LOC 0-1: wrong; conlleval reads O I-PER I-PER as PER 1-2, equal to B-PER I-PER.
    assert seqeval_f1(predictions, references) == pytest.approx({"f1": 50.0, "precision": 50.0, "recall": 50.0})


def test_seqeval_f1_does_not_join_chunks_across_sentences():
    assert seqeval_f1([["B-PER"], ["B-PER"]], [["B-PER"], ["I-PER"]])["f1"] == 100.0


def test_seqeval_f1_is_zero_without_entities_and_rejects_length_mismatches():
    assert seqeval_f1([["O", "O"]], [["O", "O"]]) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    with pytest.raises(ValueError, match="sequence 0: 1 predicted tags for 2 reference tags"):
        seqeval_f1([["O"]], [["O", "O"]])
    with pytest.raises(ValueError, match="1 predictions for 2 references"):
        seqeval_f1([["O"]], [["O"], ["O"]])


def test_seqeval_f1_on_upos_tags_is_xtremes_run_based_score_not_accuracy():
    references = [["NOUN", "NOUN", "VERB"]]
    predictions = [["NOUN", "VERB", "VERB"]]
    # seqeval: gold chunks {NOUN 0-1, VERB 2}, predicted {NOUN 0, VERB 1-2}: none equal.
    assert seqeval_f1(predictions, references)["f1"] == 0.0
    assert pos_accuracy(predictions, references) == pytest.approx({"accuracy": 200 / 3})


def test_pos_accuracy_counts_tokens_over_all_sentences():
    assert pos_accuracy([["DET", "X"], ["NOUN"]], [["DET", "NOUN"], ["NOUN"]]) == pytest.approx({"accuracy": 200 / 3})
    with pytest.raises(ValueError, match="without tokens"):
        pos_accuracy([[]], [[]])


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("The Eiffel  Tower!", "eiffel tower"),
        ("a cat, an owl and the dog", "cat owl and dog"),
        ("theater", "theater"),
        ("?!...", ""),
        ("«Paris»", "«paris»"),
    ],
)
def test_squad_normalization_is_the_official_v1_1(text, normalized):
    assert squad.normalize_squad(text) == normalized


def test_squad_scores_an_empty_prediction_zero_and_takes_the_best_gold():
    references = {"q1": ["Eiffel Tower in Paris", "the Eiffel Tower"], "q2": ["Paris"], "q3": ["1889"]}
    predictions = {"q1": "Eiffel Tower", "q2": "", "q4": "ignored"}
    # q1: EM 1 (second gold), F1 1; q2: empty prediction, 0; q3: no prediction, 0.
    assert squad_em_f1(predictions, references) == pytest.approx({"exact_match": 100 / 3, "f1": 100 / 3})


def test_squad_token_f1_is_bag_of_tokens_precision_and_recall():
    # pred {eiffel, tower}, gold {eiffel, tower, in, paris}: P = 1, R = 1/2, F1 = 2/3.
    assert squad.token_f1("the Eiffel Tower", "Eiffel Tower in Paris", squad.normalize_squad) == pytest.approx(2 / 3)
    assert squad.token_f1("x b b", "b b b", squad.normalize_squad) == pytest.approx(2 / 3)  # multiset: 2 shared


def test_squad_punctuation_only_answers_normalize_to_empty_strings():
    # Official behaviour: both normalize to "", so EM is 1 but F1 is 0 (no shared token).
    assert squad_em_f1({"q": "."}, {"q": ["!"]}) == {"exact_match": 100.0, "f1": 0.0}


def test_squad_takes_references_as_qa_examples():
    example = QAExample(id="q", context="Paris.", question="?", answers=(Answer("Paris", 0), Answer("Paris.", 0)))
    assert qa_references([example]) == {"q": ["Paris", "Paris."]}
    assert squad_em_f1({"q": "paris"}, [example]) == {"exact_match": 100.0, "f1": 100.0}


def test_qa_metrics_reject_empty_references_and_questions_without_gold():
    with pytest.raises(ValueError, match="empty set of references"):
        squad_em_f1({}, {})
    with pytest.raises(ValueError, match="question 'q' has no gold answer"):
        squad_em_f1({"q": "x"}, {"q": []})


@pytest.mark.parametrize(
    ("text", "language", "normalized"),
    [
        ("The Cat", "en", "cat"),
        ("el gato y la casa", "es", "gato y casa"),
        ("der Hund, die Katze", "de", "hund katze"),
        ("những con mèo của tôi", "vi", "con mèo tôi"),
        ("the cat", "hi", "the cat"),
        ("الكتاب", "ar", "كتاب"),
        ("جمال", "ar", "جم"),  # MLQA removes "ال" inside words too
        ("«Paris» — “quoted”", "en", "paris quoted"),
        ("北京市，2008年", "zh", "北 京 市 2008 年"),
    ],
)
def test_mlqa_normalization_follows_the_official_script(text, language, normalized):
    assert squad.normalize_mlqa(text, language) == normalized


def test_mlqa_scores_chinese_by_character():
    # pred 北京 -> {北, 京}; gold 北京市 -> {北, 京, 市}: P = 1, R = 2/3, F1 = 0.8 (SQuAD's would be 0).
    assert mlqa_em_f1({"q": "北京"}, {"q": ["北京市"]}, language="zh") == pytest.approx(
        {"exact_match": 0.0, "f1": 80.0}
    )
    assert squad_em_f1({"q": "北京"}, {"q": ["北京市"]}) == {"exact_match": 0.0, "f1": 0.0}


def test_mlqa_uses_the_answer_language_articles():
    assert mlqa_em_f1({"q": "la casa"}, {"q": ["casa"]}, language="es")["exact_match"] == 100.0
    assert mlqa_em_f1({"q": "la casa"}, {"q": ["casa"]}, language="en")["exact_match"] == 0.0


def test_mlqa_needs_a_known_language():
    with pytest.raises(ValueError, match="needs language="):
        mlqa_em_f1({"q": "x"}, {"q": ["x"]})
    with pytest.raises(ValueError, match="no normalization for language 'fr'"):
        mlqa_em_f1({"q": "x"}, {"q": ["x"]}, language="fr")


def test_tatoeba_accuracy_compares_nearest_and_gold_indices():
    assert tatoeba_accuracy([0, 1, 5, 3], [0, 1, 2, 3]) == {"accuracy": 75.0}
    assert tatoeba_accuracy(["0", "2"], [0, 1]) == {"accuracy": 50.0}


def test_average_precision_at_k_by_hand():
    # Hits at ranks 1 and 3 of [a, x, b]: (1/1 + 2/3) / min(2, 3).
    assert average_precision_at_k(["a", "x", "b"], {"a", "b"}, 3) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision_at_k(["a", "x", "b"], {"a", "b"}, 2) == pytest.approx(0.5)
    assert average_precision_at_k(["a", "a", "b"], {"a", "b"}, 3) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision_at_k(["x"], {"a"}, 5) == 0.0
    assert average_precision_at_k(["x"], set(), 5) == 0.0
    with pytest.raises(ValueError, match="k must be at least 1"):
        average_precision_at_k(["a"], {"a"}, 0)


def test_map_at_k_averages_queries_in_percent():
    result = map_at_k([["a", "x", "b"], ["y", "c"]], [{"a", "b"}, {"c"}], k=3)
    assert result == pytest.approx({"map@3": 100 * ((1 + 2 / 3) / 2 + 1 / 2) / 2})
    assert get_metric("map_at_20")([["a"]], [{"a"}]) == {"map@20": 100.0}


def test_bucc_f1_over_pair_sets():
    gold = [("de-1", "en-1"), ("de-2", "en-2")]
    predicted = [("de-1", "en-1"), ("de-3", "en-3"), ("de-4", "en-4"), ("de-1", "en-1")]
    assert bucc_f1(predicted, gold) == pytest.approx({"f1": 40.0, "precision": 100 / 3, "recall": 50.0})
    assert bucc_f1([("x", "y")], gold) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}
