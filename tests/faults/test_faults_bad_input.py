"""Bad input through `crossling run`: one `error:` line naming the file and line (or config key), exit code 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from faultkit import assert_one_line_error, base_config, invoke_run, write_yaml

from crossling.config import build_config
from crossling.data.loading import TaskData
from crossling.data.records import PairExample
from crossling.errors import DataError


def _damage(path: Path, line: int, text: str) -> None:
    """Replace line ``line`` (1-based) of ``path`` with ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_tsv_row_with_too_few_columns_names_file_and_line(make_config, data_copy):
    _damage(data_copy / "train-en.tsv", 3, "only one column")
    result = invoke_run(make_config(task={"data_dir": str(data_copy)}))
    assert_one_line_error(
        result,
        f"{data_copy / 'train-en.tsv'}:3:",
        "expected at least 3 tab-separated columns, found 1",
        "task.skip_bad_lines",
    )


def test_unknown_label_names_file_line_and_the_labels(make_config, data_copy):
    _damage(data_copy / "train-en.tsv", 5, "red cat\tblue dog\tmaybe")
    result = invoke_run(make_config(task={"data_dir": str(data_copy)}))
    assert_one_line_error(
        result, f"{data_copy / 'train-en.tsv'}:5:", "unknown label 'maybe'", "expected one of ['0', '1']"
    )


def test_skip_bad_lines_goes_on_and_reports_how_many(make_config, data_copy):
    _damage(data_copy / "train-en.tsv", 3, "only one column")
    _damage(data_copy / "train-en.tsv", 7, "red cat\tblue dog\tmaybe")
    config = make_config(task={"data_dir": str(data_copy), "skip_bad_lines": True}, training={"max_steps": 2})
    result = invoke_run(config)
    assert result.exit_code == 0, result.output
    # The warning goes through rich's log handler, which may wrap it: compare without whitespace.
    assert "skipped2malformedline(s)" in "".join(result.output.split())
    results = json.loads((config.parent / "runs" / "fault" / "results.json").read_text())
    assert results["stages"][0]["train_examples"] == 158


def test_empty_split_names_the_file_and_what_was_expected(make_config, data_copy):
    (data_copy / "train-en.tsv").write_text("", encoding="utf-8")
    result = invoke_run(make_config(task={"data_dir": str(data_copy)}))
    assert_one_line_error(result, str(data_copy / "train-en.tsv"), "expected at least one example, found none")


def test_malformed_conllu_line_names_file_and_line(make_config, tmp_path):
    treebank = tmp_path / "ud" / "en" / "en_toy-ud-train.conllu"
    treebank.parent.mkdir(parents=True)
    good = "# sent_id = s1\n1\tred\tred\tADJ\t_\t_\t2\tamod\t_\t_\n2\tcat\tcat\tNOUN\t_\t_\t0\troot\t_\t_\n\n"
    bad = "# sent_id = s2\n1\tblue\tADJ\n2\tdog\tdog\tNOUN\t_\t_\t0\troot\t_\t_\n\n"
    treebank.write_text(good + bad, encoding="utf-8")
    result = invoke_run(make_config(task={"name": "udpos", "data_dir": str(tmp_path / "ud"), "eval_languages": ["en"]}))
    assert_one_line_error(result, f"{treebank}:6:", "expected 10 tab-separated CoNLL-U columns, found 3")


def _squad(questions: list[tuple[str, str, int]]) -> dict:
    context = "the red cat sees the blue dog near the tree ."
    qas = [
        {"id": qid, "question": "what does the cat see ?", "answers": [{"text": text, "answer_start": start}]}
        for qid, text, start in questions
    ]
    return {"version": "1.1", "data": [{"title": "toy", "paragraphs": [{"context": context, "qas": qas}]}]}


def test_squad_answer_start_that_misses_the_answer_names_file_and_line(make_config, tmp_path):
    data = tmp_path / "squad"
    data.mkdir()
    path = data / "train-v1.1.json"
    path.write_text(json.dumps(_squad([("q1", "blue dog", 21), ("q2", "blue dog", 3)]), indent=1), encoding="utf-8")
    result = invoke_run(make_config(task={"name": "squad", "data_dir": str(data), "eval_languages": ["en"]}))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if '"q2"' in text)
    assert_one_line_error(result, f"{path}:{line}:", "answer_start 3 does not point at the answer", "'blue dog'")


def test_duplicate_question_ids_name_the_id(make_config, tmp_path):
    data = tmp_path / "squad"
    data.mkdir()
    path = data / "train-v1.1.json"
    path.write_text(json.dumps(_squad([("q1", "blue dog", 21), ("q1", "blue dog", 21)]), indent=1), encoding="utf-8")
    result = invoke_run(make_config(task={"name": "squad", "data_dir": str(data), "eval_languages": ["en"]}))
    assert_one_line_error(result, str(path), "duplicate question id 'q1'")


def test_duplicate_ids_across_a_source_are_refused_by_task_data(pair_data, monkeypatch):
    data = TaskData.from_config(
        build_config({"task": {"name": "pawsx", "source": "local", "data_dir": str(pair_data)}}).task
    )
    twins = [PairExample("a-1", "x", "y", "0"), PairExample("a-2", "x", "y", "1"), PairExample("a-1", "z", "w", "1")]
    monkeypatch.setattr(data.source, "load", lambda language, split: list(twins))
    with pytest.raises(DataError, match=r"pawsx: duplicate example id 'a-1' in the train split of 'en'"):
        data.records("en", "train")


def test_unknown_language_is_a_config_error_naming_the_tasks_languages(make_config):
    result = invoke_run(make_config(task={"eval_languages": ["en", "qq"]}))
    assert_one_line_error(
        result, "task.eval_languages", "pawsx has no language 'qq'", "de, es, fr, ja, ko, zh", "task.extra_languages"
    )


def test_extra_languages_admit_a_language_the_task_does_not_declare(make_config, data_copy):
    shutil.copy(data_copy / "test-de.tsv", data_copy / "test-qq.tsv")
    config = make_config(
        task={"data_dir": str(data_copy), "eval_languages": ["en", "qq"], "extra_languages": ["qq"]},
        training={"max_steps": 1},
    )
    result = invoke_run(config)
    assert result.exit_code == 0, result.output
    assert json.loads((config.parent / "runs" / "fault" / "results.json").read_text())["languages"]["qq"]["count"] == 40


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ("training.learning_rat=0.1", ["unknown key 'training.learning_rat'", "did you mean training.learning_rate?"]),
        ("training.batch_size=many", ["training.batch_size: expected an integer, got 'many'"]),
        ("task.data_dir=/no/such/directory", ["task.data_dir: directory not found: /no/such/directory"]),
        ("evaluation.write_predictions=maybe", ["evaluation.write_predictions: expected true or false"]),
    ],
)
def test_config_errors_name_the_key_and_what_was_expected(make_config, override, fragments):
    config = make_config()
    assert_one_line_error(invoke_run(config, "--set", override), str(config), *fragments)


def test_model_directory_without_weights_is_refused(make_config, tiny_model, tmp_path):
    empty = Path(shutil.copytree(tiny_model, tmp_path / "no-weights"))
    (empty / "model.safetensors").unlink()
    result = invoke_run(make_config(model={"name_or_path": str(empty)}))
    assert_one_line_error(result, f"{empty}: no model weights (expected model.safetensors)")


def test_tokenizer_larger_than_the_vocabulary_is_refused(make_config, tiny_model, tmp_path):
    from transformers import BertConfig, BertModel

    mismatched = Path(shutil.copytree(tiny_model, tmp_path / "mismatch"))
    config = BertConfig.from_pretrained(mismatched)
    config.vocab_size = 50
    BertModel(config).save_pretrained(mismatched)
    result = invoke_run(make_config(model={"name_or_path": str(mismatched)}))
    assert_one_line_error(result, "tokenizer has", "the model's embedding matrix has 50 rows")


def test_a_missing_config_file_is_one_line(tmp_path):
    assert_one_line_error(invoke_run(tmp_path / "absent.yaml"), f"config file not found: {tmp_path / 'absent.yaml'}")


def test_config_written_by_hand_with_a_wrong_section_type(tiny_model, pair_data, tmp_path):
    config = base_config(tiny_model, pair_data, tmp_path / "runs", training=["not", "a", "mapping"])
    path = write_yaml(tmp_path / "config.yaml", config)
    assert_one_line_error(invoke_run(path), "training: expected a mapping")
