"""Tagging scorer: per-word merge of window logits, XTREME's metrics, and prediction files in xtreme's mock format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossling.data.records import TaggingExample
from crossling.errors import DataError
from crossling.evaluation.metrics import get_metric
from crossling.evaluation.scorers.tagging import merge_word_predictions, score_tagging, tag_lines, tagging_metrics
from crossling.evaluation.scoring import SCORING, prediction_file
from crossling.tasks import get_task
from crossling.tasks.registry import TaskKind, TaskSpec
from crossling.utils.imports import resolve

UDPOS = get_task("udpos")
PANX = get_task("panx")


def _read_tag_file(path: Path) -> list[list[str]]:
    """Sentences of an xtreme tag file, read the way its evaluate.py does (blank line = sentence break)."""
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.strip():
            current.append(line.strip())
        elif current:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def _features(rows: list[tuple[int, list[int]]]) -> dict[str, list]:
    return {"example_index": [index for index, _ in rows], "word_ids": [word_ids for _, word_ids in rows]}


def _logits_for(task: TaskSpec, tags_per_row: list[list[str | None]]) -> list[np.ndarray]:
    out = []
    for tags in tags_per_row:
        logits = np.zeros((len(tags), task.num_labels))
        for t, tag in enumerate(tags):
            if tag is not None:
                logits[t, task.label_to_id(tag)] = 5.0
        out.append(logits)
    return out


@pytest.fixture(scope="module")
def mock(shared_data) -> Path:
    return shared_data / "xtreme_mock" / "mock_test_data"


@pytest.mark.parametrize("task_name", ["udpos", "panx"])
def test_prediction_files_match_xtreme_mock_files_byte_for_byte(mock, task_name):
    files = sorted((mock / "predictions" / task_name).glob("test-*.tsv"))
    assert len(files) in (33, 40)
    for path in files:
        extension, text = prediction_file(get_task(task_name), _read_tag_file(path))
        assert extension == "tsv"
        assert text == path.read_text(encoding="utf-8"), path.name


def test_tag_lines_put_a_blank_line_between_sentences_and_one_newline_at_the_end():
    assert tag_lines(UDPOS, [["PRON", "AUX"], ["NOUN"]]) == "PRON\nAUX\n\nNOUN\n"
    assert tag_lines(UDPOS, []) == ""


def test_windows_are_merged_back_to_one_tag_per_word_in_record_order():
    records = [
        TaggingExample("a", ("w0", "w1", "w2"), ("DET", "NOUN", "VERB")),
        TaggingExample("b", ("v0",), ("PUNCT",)),
    ]
    # Record a in two windows (word 1 predicted in the second); rows not in record order.
    features = _features([(1, [-1, 0, -1]), (0, [-1, 0, -1, -1]), (0, [-1, -1, 1, 2, -1])])
    logits = _logits_for(UDPOS, [[None, "PUNCT", None], [None, "DET", "ADJ", None], [None, "X", "NOUN", "VERB", None]])
    assert merge_word_predictions(UDPOS, logits, features, records) == [["DET", "NOUN", "VERB"], ["PUNCT"]]
    result = score_tagging(UDPOS, logits, features, records)
    assert result.count == 2 and result.metrics["pos_accuracy"] == 100.0 and result.metrics["f1"] == 100.0


def test_a_word_predicted_twice_or_never_is_an_error():
    records = [TaggingExample("a", ("w0", "w1"), ("DET", "NOUN"))]
    twice = _features([(0, [0, 1]), (0, [1])])
    with pytest.raises(DataError, match="word 1 of example a is predicted by two windows"):
        merge_word_predictions(UDPOS, _logits_for(UDPOS, [["DET", "NOUN"], ["NOUN"]]), twice, records)
    never = _features([(0, [0, -1])])
    with pytest.raises(DataError, match=r"word 1 \('w1'\) of example a has no prediction"):
        merge_word_predictions(UDPOS, _logits_for(UDPOS, [["DET", None]]), never, records)


def test_udpos_reports_xtreme_seqeval_f1_as_primary_and_token_accuracy(mock):
    gold = _read_tag_file(mock / "labels" / "udpos" / "test-en.tsv")
    predicted = [list(tags) for tags in gold]
    predicted[0][0] = "NOUN" if predicted[0][0] != "NOUN" else "VERB"
    metrics = tagging_metrics(UDPOS, predicted, gold)
    assert UDPOS.metric == "f1"
    assert metrics["f1"] == pytest.approx(get_metric("f1")(predicted, gold)["f1"])
    assert metrics["pos_accuracy"] == pytest.approx(get_metric("pos_accuracy")(predicted, gold)["accuracy"])
    assert metrics["pos_accuracy"] < 100.0 and set(metrics) == {"f1", "precision", "recall", "pos_accuracy"}


def test_panx_reports_seqeval_entity_f1_only():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    predicted = [["B-PER", "I-PER", "O", "O"]]
    metrics = tagging_metrics(PANX, predicted, gold)
    assert set(metrics) == {"f1", "precision", "recall"}
    assert metrics["precision"] == 100.0 and metrics["recall"] == 50.0


def test_a_pos_task_whose_primary_metric_is_accuracy_reports_it_under_its_own_name():
    task = TaskSpec(
        name="pos-acc",
        kind=TaskKind.TOKEN_CLASSIFICATION,
        labels=UDPOS.labels,
        metric="pos_accuracy",
        languages=("en",),
        sources={"x": lambda options: None},
    )
    metrics = tagging_metrics(task, [["NOUN", "VERB"]], [["NOUN", "NOUN"]])
    assert metrics["pos_accuracy"] == 50.0 and "f1" in metrics


def test_the_scoring_table_routes_token_classification_to_this_scorer():
    rules = SCORING[TaskKind.TOKEN_CLASSIFICATION]
    assert resolve(rules.scorer) is score_tagging and resolve(rules.writer) is tag_lines and rules.extension == "tsv"
