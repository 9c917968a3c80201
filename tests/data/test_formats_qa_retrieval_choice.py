"""SQuAD JSON, Tatoeba and COPA JSONL readers: counts on the real files, every malformed case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossling.data.formats import (
    TATOEBA_CODES,
    mlqa_file_name,
    parse_mlqa_file_name,
    read_copa_jsonl,
    read_squad_json,
    read_tatoeba,
    tatoeba_paths,
)
from crossling.errors import DataError

XQUAD_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
MLQA_QUESTIONS = {"ar": 517, "de": 512, "en": 1148, "es": 500, "hi": 507, "vi": 511, "zh": 504}


def _squad(*qas: dict, context: str = "Paris is the capital of France.") -> dict:
    return {"version": "1.1", "data": [{"title": "T", "paragraphs": [{"context": context, "qas": list(qas)}]}]}


def _qa(qid: str, text: str = "Paris", start: int = 0) -> dict:
    return {"id": qid, "question": "Which city?", "answers": [{"text": text, "answer_start": start}]}


def _write_json(tmp_path: Path, name: str, document: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def _count_questions(path: Path) -> int:
    document = json.loads(path.read_text(encoding="utf-8"))
    return sum(len(p["qas"]) for article in document["data"] for p in article["paragraphs"])


@pytest.mark.parametrize("lang", XQUAD_LANGUAGES)
def test_squad_reader_reads_every_xquad_question_with_a_matching_span(shared_data, lang):
    path = shared_data / "xquad" / f"xquad.{lang}.json"
    examples, skipped = read_squad_json(path)
    assert (len(examples), skipped) == (1190, 0)
    assert _count_questions(path) == 1190
    assert all(e.context[a.start : a.start + len(a.text)] == a.text for e in examples for a in e.answers)


def test_squad_reader_keeps_question_ids_parallel_across_xquad_languages(shared_data):
    en, _ = read_squad_json(shared_data / "xquad" / "xquad.en.json")
    de, _ = read_squad_json(shared_data / "xquad" / "xquad.de.json")
    assert [e.id for e in en] == [e.id for e in de]
    assert en[0].answers[0].text == "308"


@pytest.mark.parametrize(("lang", "questions"), sorted(MLQA_QUESTIONS.items()))
def test_squad_reader_reads_every_mlqa_dev_question(shared_data, lang, questions):
    path = shared_data / "mlqa" / mlqa_file_name(lang, lang)
    examples, _ = read_squad_json(path)
    assert len(examples) == questions == _count_questions(path)
    assert all(len(e.answers) == 1 for e in examples)


def test_mlqa_file_names_round_trip():
    assert mlqa_file_name("de", "en") == "dev-context-de-question-en.json"
    assert mlqa_file_name("zh", "zh", split="test") == "test-context-zh-question-zh.json"
    assert parse_mlqa_file_name("/x/dev-context-de-question-en.json") == ("dev", "de", "en")
    with pytest.raises(ValueError, match="not an MLQA file name"):
        parse_mlqa_file_name("xquad.de.json")


def test_squad_reader_names_file_line_and_id_of_a_misplaced_answer(tmp_path):
    path = _write_json(tmp_path, "squad.json", _squad(_qa("q1"), _qa("q2", "France", 6), _qa("q3", "France", 24)))
    with pytest.raises(DataError) as info:
        read_squad_json(path)
    message = str(info.value)
    line = next(i for i, text in enumerate(path.read_text().split("\n"), start=1) if '"q2"' in text)
    assert message.startswith(f"{path}:{line}: question 'q2': answer_start 6 does not point at the answer")
    assert "expected 'France', context has 'is the' there" in message and "\n" not in message
    examples, skipped = read_squad_json(path, skip_bad_lines=True)
    assert ([e.id for e in examples], skipped) == (["q1", "q3"], 1)


def test_squad_reader_rejects_a_duplicate_question_id_at_its_second_line(tmp_path):
    path = _write_json(tmp_path, "dup.json", _squad(_qa("q1"), _qa("q1")))
    lines = [i for i, text in enumerate(path.read_text().split("\n"), start=1) if '"q1"' in text]
    with pytest.raises(
        DataError, match=rf"dup\.json:{lines[1]}: duplicate question id 'q1' \(first at line {lines[0]}\)"
    ):
        read_squad_json(path)
    assert read_squad_json(path, skip_bad_lines=True)[1] == 1


@pytest.mark.parametrize(
    ("qa", "fragment"),
    [
        (
            {"id": "q2", "question": "?", "answers": [{"text": "Paris"}]},
            "expected answers as {'text': str, 'answer_start': int}",
        ),
        ({"id": "q2", "question": "?", "answers": [{"text": "Paris", "answer_start": "0"}]}, "expected answers as"),
        ({"id": "q2", "question": "?"}, "expected a 'question' string and an 'answers' list"),
        ({"id": "q2", "question": "?", "answers": []}, "expected at least one non-empty answer"),
        (
            {"id": "q2", "question": "?", "answers": [{"text": "Paris", "answer_start": 400}]},
            "context has '<outside the context>'",
        ),
    ],
)
def test_squad_reader_rejects_a_malformed_question(tmp_path, qa, fragment):
    path = _write_json(tmp_path, "bad.json", _squad(_qa("q1"), qa))
    with pytest.raises(DataError, match=r"bad\.json:\d+: question 'q2'") as info:
        read_squad_json(path)
    assert fragment in str(info.value)
    assert read_squad_json(path, skip_bad_lines=True)[1] == 1


def test_squad_reader_accepts_blanked_answers_only_when_answers_are_not_required(tmp_path):
    path = _write_json(
        tmp_path, "test.json", _squad({"id": "q1", "question": "?", "answers": [{"text": "", "answer_start": 0}]})
    )
    with pytest.raises(DataError, match="expected at least one non-empty answer"):
        read_squad_json(path)
    examples, _ = read_squad_json(path, require_answers=False)
    assert examples[0].answers == ()


def test_squad_reader_reports_invalid_json_and_a_missing_data_list_as_fatal(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [\n  {"title": "x",\n  }\n]}', encoding="utf-8")
    with pytest.raises(DataError, match=r"broken\.json:3: expected SQuAD JSON, found invalid JSON"):
        read_squad_json(broken, skip_bad_lines=True)
    with pytest.raises(DataError, match=r"nodata\.json:1: expected a JSON object with a 'data' list"):
        read_squad_json(_write_json(tmp_path, "nodata.json", {"version": "1.1"}))
    with pytest.raises(DataError, match=r"noqas\.json:1: expected at least one question, found none"):
        read_squad_json(_write_json(tmp_path, "noqas.json", _squad()))


def test_squad_reader_rejects_an_empty_file(tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match=r"empty\.json:1: expected SQuAD JSON, found invalid JSON"):
        read_squad_json(empty)


# (LASER code, lines) for the pairs that do not have 1000 lines -- MANIFEST.md, section 3.
SHORT_TATOEBA = {"jav": 205, "tel": 234, "tam": 307, "swh": 390, "tha": 548, "kaz": 575, "mal": 687, "kat": 746}


@pytest.mark.parametrize("code", sorted(TATOEBA_CODES))
def test_tatoeba_reader_reads_every_line_pair_of_the_41_languages(shared_data, code):
    source, target = tatoeba_paths(shared_data / "tatoeba", code)
    examples, skipped = read_tatoeba(source, target)
    expected = SHORT_TATOEBA.get(code, 1000)
    assert (len(examples), skipped) == (expected, 0)
    assert len(source.read_text(encoding="utf-8").split("\n")) - 1 == expected


def test_tatoeba_paths_accept_two_and_three_letter_codes(tmp_path):
    assert tatoeba_paths(tmp_path, "de") == tatoeba_paths(tmp_path, "deu")
    assert tatoeba_paths(tmp_path, "zh")[0].name == "tatoeba.cmn-eng.cmn"
    assert tatoeba_paths(tmp_path, "sw")[1].name == "tatoeba.swh-eng.eng"
    assert len(TATOEBA_CODES) == 41 and len(set(TATOEBA_CODES.values())) == 41
    with pytest.raises(KeyError, match="no Tatoeba file code for 'xx'"):
        tatoeba_paths(tmp_path, "xx")


def test_tatoeba_reader_pairs_lines_in_order(shared_data):
    examples, _ = read_tatoeba(*tatoeba_paths(shared_data / "tatoeba", "de"), id_prefix="de-")
    assert examples[0].id == "de-0"
    assert examples[0].target == "Mary said she didn't know where Tom was."


def test_tatoeba_reader_rejects_files_of_different_lengths_at_the_missing_line(tmp_path):
    source, target = tmp_path / "t.deu-eng.deu", tmp_path / "t.deu-eng.eng"
    source.write_text("a\nb\nc\n", encoding="utf-8")
    target.write_text("A\nB\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"t\.deu-eng\.eng:3: expected a line aligned with t\.deu-eng\.deu:3"):
        read_tatoeba(source, target, skip_bad_lines=True)


def test_tatoeba_reader_rejects_an_empty_line_and_can_skip_the_pair(tmp_path):
    source, target = tmp_path / "t.deu-eng.deu", tmp_path / "t.deu-eng.eng"
    source.write_text("a\nb\nc\n", encoding="utf-8")
    target.write_text("A\n \nC\n", encoding="utf-8")
    with pytest.raises(
        DataError, match=r"t\.deu-eng\.deu:2: expected a sentence, found an empty line in t\.deu-eng\.eng"
    ):
        read_tatoeba(source, target)
    examples, skipped = read_tatoeba(source, target, skip_bad_lines=True)
    assert ([(e.id, e.source, e.target) for e in examples], skipped) == ([("0", "a", "A"), ("2", "c", "C")], 1)


def test_tatoeba_reader_rejects_empty_files(tmp_path):
    source, target = tmp_path / "e.deu", tmp_path / "e.eng"
    source.write_text("", encoding="utf-8")
    target.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match=r"e\.deu:1: expected at least one sentence pair, found none"):
        read_tatoeba(source, target)


XCOPA_FILES = [("en/train-en.jsonl", 400, 195), ("en/val-en.jsonl", 100, 55)] + [
    (f"{lang}/{split}.{lang}.jsonl", count, count // 2 if split == "test" else 55)
    for lang in ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")
    for split, count in (("test", 500), ("val", 100))
]


@pytest.mark.parametrize(("name", "examples", "label_zero"), XCOPA_FILES)
def test_copa_reader_reads_every_xcopa_and_copa_line(shared_data, name, examples, label_zero):
    path = shared_data / "xcopa" / name
    records, skipped = read_copa_jsonl(path)
    lines = [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    assert (len(records), skipped) == (examples, 0) == (len(lines), 0)
    assert sum(r.label == 0 for r in records) == label_zero
    assert all(len(r.choices) == 2 and r.question in ("cause", "effect") for r in records)


def test_copa_reader_maps_choices_label_and_idx(shared_data):
    first = read_copa_jsonl(shared_data / "xcopa" / "en" / "val-en.jsonl", id_prefix="en-val-")[0][0]
    assert first.id == "en-val-0"
    assert first.premise == "The man turned on the faucet."
    assert first.choices == ("The toilet filled with water.", "Water flowed from the spout.")
    assert (first.question, first.label) == ("effect", 1)


GOOD_COPA = {"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "label": 0, "idx": 1}


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("{not json", "expected a JSON object, found invalid JSON"),
        ("[1, 2]", "expected a JSON object, found list"),
        (json.dumps({**GOOD_COPA, "idx": 2, "question": "why"}), "expected question 'cause' or 'effect', found 'why'"),
        (json.dumps({**GOOD_COPA, "idx": 2, "label": 2}), "expected label 0 or 1, found 2"),
        (json.dumps({**GOOD_COPA, "idx": 2, "label": "1"}), "expected an integer 'label', found '1'"),
        (
            json.dumps({k: v for k, v in GOOD_COPA.items() if k != "choice2"} | {"idx": 2}),
            "expected a string 'choice2'",
        ),
        (json.dumps(GOOD_COPA), "duplicate example id '1' (first at line 1)"),
    ],
)
def test_copa_reader_names_file_and_line_of_a_malformed_line(tmp_path, bad, fragment):
    path = tmp_path / "val.xx.jsonl"
    path.write_text(json.dumps(GOOD_COPA) + "\n" + bad + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"val\.xx\.jsonl:2: ") as info:
        read_copa_jsonl(path)
    assert fragment in str(info.value)
    records, skipped = read_copa_jsonl(path, skip_bad_lines=True)
    assert ([r.id for r in records], skipped) == (["1"], 1)


def test_copa_reader_rejects_an_empty_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"empty\.jsonl:1: expected at least one example, found none"):
        read_copa_jsonl(path)
