"""LAReQA (XQuAD-R) and Mewsli-X readers and sources: candidates, answer sentences, marked mentions, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossling.data.formats.lareqa import read_lareqa_json
from crossling.data.formats.mewslix import read_mewslix_entities, read_mewslix_mentions
from crossling.data.retrieval_sources import LocalLareqaSource, LocalMewslixSource
from crossling.data.sources import SourceOptions
from crossling.errors import DataError
from crossling.evaluation.metrics import map_at_k


def _xquad_r(language: str, sentences: list[str], questions: list[tuple[str, str, int]]) -> dict:
    """One article, one paragraph: the sentences joined by a space, breaks computed; questions (id, text, answer sentence)."""
    context, breaks = "", []
    for sentence in sentences:
        start = len(context) + (1 if context else 0)
        context = f"{context} {sentence}" if context else sentence
        breaks.append([start, start + len(sentence)])
    qas = [
        {"id": qid, "question": text, "answers": [{"text": sentences[s][:3], "answer_start": breaks[s][0]}]}
        for qid, text, s in questions
    ]
    return {
        "data": [
            {
                "title": language,
                "paragraphs": [{"context": context, "qas": qas, "sentences": sentences, "sentence_breaks": breaks}],
            }
        ]
    }


def _write(path: Path, document: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_lareqa_reader_finds_answer_sentences_by_offset(tmp_path):
    doc = _xquad_r(
        "en",
        ["Cats sleep a lot.", "Dogs bark at night.", "Birds sing."],
        [("q1", "Who barks?", 1), ("q2", "Who sings?", 2)],
    )
    # An answer offset in the gap between two sentences belongs to the sentence before it.
    doc["data"][0]["paragraphs"][0]["qas"].append(
        {"id": "q3", "question": "Gap?", "answers": [{"text": " ", "answer_start": 17}]}
    )
    data, skipped = read_lareqa_json(_write(tmp_path / "en.json", doc), "en")
    assert skipped == 0
    assert [c.id for c in data.candidates] == ["en/0-0/0", "en/0-0/1", "en/0-0/2"]
    assert data.candidates[1].text == "Dogs bark at night." and data.candidates[1].language == "en"
    assert data.questions == (("q1", "Who barks?"), ("q2", "Who sings?"), ("q3", "Gap?"))
    assert data.answer_sentence == {"q1": "en/0-0/1", "q2": "en/0-0/2", "q3": "en/0-0/0"}


def test_lareqa_reader_errors_name_the_file(tmp_path):
    plain = {"data": [{"paragraphs": [{"context": "A b.", "qas": [{"id": "q", "question": "?", "answers": []}]}]}]}
    with pytest.raises(DataError, match=r"plain\.json.*sentence_breaks.*not plain XQuAD"):
        read_lareqa_json(_write(tmp_path / "plain.json", plain), "en")
    doc = _xquad_r("en", ["One.", "Two."], [("q1", "?", 0), ("q2", "?", 1)])
    doc["data"][0]["paragraphs"][0]["qas"][1]["answers"] = []
    path = _write(tmp_path / "bad.json", doc)
    with pytest.raises(DataError, match=r"bad\.json.*q2: no answer_start"):
        read_lareqa_json(path, "en")
    data, skipped = read_lareqa_json(path, "en", skip_bad_lines=True)
    assert skipped == 1 and [q for q, _ in data.questions] == ["q1"]


def test_lareqa_source_ranks_against_the_pool_of_every_language(tmp_path):
    _write(tmp_path / "en.json", _xquad_r("en", ["Cats sleep.", "Dogs bark."], [("q1", "Who barks?", 1)]))
    _write(
        tmp_path / "xquad-r" / "de.json",
        _xquad_r("de", ["Hunde bellen.", "Katzen schlafen.", "Ja."], [("q1", "Wer bellt?", 0)]),
    )
    source = LocalLareqaSource(SourceOptions(data_dir=tmp_path))
    assert source.pool_languages() == ("de", "en")
    (german,) = source.load("de", "test")
    (english,) = source.load("en", "test")
    assert german.candidates is english.candidates and len(german.candidates) == 5  # one pool object, encoded once
    assert german.queries[0].text == "Wer bellt?"
    assert set(german.queries[0].relevant) == {"de/0-0/0", "en/0-0/1"}
    with pytest.raises(DataError, match="only a test split"):
        source.load("de", "dev")
    with pytest.raises(DataError, match="not among the pool languages"):
        source.load("fr", "test")
    assert source.fingerprint("de", "test") != LocalLareqaSource(
        SourceOptions(data_dir=tmp_path, max_examples=1)
    ).fingerprint("de", "test")


ARTICLE_EN = {
    "context": {
        "document_id": "en-1",
        "language": "en",
        "text": "Strike in Helsinki\n\nIn Helsinki, drivers {union} went on strike. Trains run.",
        "sentence_spans": [{"start": 0, "end": 18}, {"start": 20, "end": 64}, {"start": 65, "end": 76}],
    },
    "mentions": [
        {"example_id": "m1", "entity_id": "Q1757", "mention_span": {"start": 23, "end": 31, "text": "Helsinki"}},
        {"example_id": "m2", "entity_id": "Q22", "mention_span": {"start": 65, "end": 71, "text": "Trains"}},
    ],
}
ARTICLE_DE = {
    "context": {"document_id": "de-1", "language": "de", "text": "Berlin ist groß.", "sentence_spans": [[0, 16]]},
    "mentions": [{"example_id": "m3", "entity_id": "Q64", "mention_span": {"start": 0, "end": 6, "text": "Berlin"}}],
}


def _mewslix_dir(tmp_path: Path, articles=(ARTICLE_EN, ARTICLE_DE)) -> Path:
    entities = [
        {"entity_id": "Q1757", "description": "Helsinki is the capital of Finland.", "description_language": "en"},
        {"entity_id": "Q64", "description": "Berlin ist die Hauptstadt.", "description_language": "de"},
        {"entity_id": "Q22", "description": "Un tren es un vehículo.", "description_language": "es"},
    ]
    (tmp_path / "candidate_set_entities.jsonl").write_text(
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entities), encoding="utf-8"
    )
    (tmp_path / "wikinews_mentions-test.jsonl").write_text(
        "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles), encoding="utf-8"
    )
    return tmp_path


def test_mewslix_mentions_are_marked_in_their_sentence(tmp_path):
    queries, skipped = read_mewslix_mentions(_mewslix_dir(tmp_path) / "wikinews_mentions-test.jsonl", "en")
    assert skipped == 0 and [q.id for q in queries] == ["m1", "m2"]
    assert queries[0].text == "In {Helsinki}, drivers (union) went on strike."
    assert queries[0].relevant == ("Q1757",)
    assert queries[1].text == "{Trains} run."
    (german,), _ = read_mewslix_mentions(tmp_path / "wikinews_mentions-test.jsonl", "de")
    assert german.text == "{Berlin} ist groß."  # [start, end] pairs are accepted too


def test_mewslix_errors(tmp_path):
    entities, _ = read_mewslix_entities(_mewslix_dir(tmp_path) / "candidate_set_entities.jsonl")
    assert [e.id for e in entities] == ["Q1757", "Q64", "Q22"] and entities[2].language == "es"
    shifted = json.loads(json.dumps(ARTICLE_EN))
    shifted["mentions"][0]["mention_span"]["start"] = 22
    _mewslix_dir(tmp_path, [shifted])
    with pytest.raises(DataError, match=r"wikinews_mentions-test\.jsonl:1: mention m1: context.text\[22:31\]"):
        read_mewslix_mentions(tmp_path / "wikinews_mentions-test.jsonl", "en")
    no_text = json.loads(json.dumps(ARTICLE_EN))
    no_text["context"]["text"] = ""
    _mewslix_dir(tmp_path, [no_text])
    with pytest.raises(DataError, match="get-mewsli-x.sh"):
        read_mewslix_mentions(tmp_path / "wikinews_mentions-test.jsonl", "en")
    (tmp_path / "candidate_set_entities.jsonl").write_text('{"entity_id": "Q1", "description": "x"}\nnot json\n')
    with pytest.raises(DataError, match=r"candidate_set_entities\.jsonl:2: invalid JSON"):
        read_mewslix_entities(tmp_path / "candidate_set_entities.jsonl")


def test_mewslix_source_checks_gold_entities_are_candidates(tmp_path):
    source = LocalMewslixSource(SourceOptions(data_dir=_mewslix_dir(tmp_path)))
    (problem,) = source.load("en", "test")
    assert len(problem.candidates) == 3 and problem.pool_languages == ("de", "en", "es")
    with pytest.raises(DataError, match="dev and test"):
        source.load("en", "train")
    (tmp_path / "candidate_set_entities.jsonl").write_text(
        '{"entity_id": "Q64", "description": "Berlin.", "description_language": "de"}\n', encoding="utf-8"
    )
    with pytest.raises(DataError, match=r"gold entities \['Q1757', 'Q22'\]"):
        LocalMewslixSource(SourceOptions(data_dir=tmp_path)).load("en", "test")


def test_map_at_20_on_xtreme_mock_mewslix_files(shared_data):
    mock = shared_data / "xtreme_mock" / "mock_test_data"
    # Gold QID at rank 2 (de), 12 (en) and 14 (ja) of the mock predictions, checked by hand.
    for language, expected in (("de", 100 / 2), ("en", 100 / 12), ("ja", 100 / 14)):
        gold = json.loads((mock / "labels" / "mewslix" / f"test-{language}.json").read_text(encoding="utf-8"))
        predicted = json.loads((mock / "predictions" / "mewslix" / f"test-{language}.json").read_text(encoding="utf-8"))
        ids = sorted(gold)
        score = map_at_k([predicted[i] for i in ids], [set(gold[i]) for i in ids], 20)["map@20"]
        assert score == pytest.approx(expected)


def test_add_sentence_breaks_splits_latin_devanagari_and_cjk_sentence_ends():
    from crossling.data.formats.lareqa import add_sentence_breaks

    contexts = ["One cat. Two dogs!  Three?", "पहला वाक्य। दूसरा", "第一句。第二句！第三", "ประโยคหนึ่ง ประโยคสอง"]
    document = {"data": [{"paragraphs": [{"context": c, "qas": []} for c in contexts]}]}
    assert add_sentence_breaks(document) == 3 + 2 + 3 + 1
    latin, hindi, chinese, thai = document["data"][0]["paragraphs"]
    assert latin["sentences"] == ["One cat.", "Two dogs!", "Three?"]
    assert latin["sentence_breaks"] == [[0, 8], [9, 18], [20, 26]]
    assert hindi["sentences"] == ["पहला वाक्य।", "दूसरा"]
    assert chinese["sentences"] == ["第一句。", "第二句！", "第三"]
    assert thai["sentences"] == [thai["context"]]  # no sentence mark: one candidate
