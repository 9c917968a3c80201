"""End-to-end tagging: a tiny BERT learns a lexicon POS task from XTREME-layout files and is evaluated in every language."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from tiny import make_tiny_model_dir

from crossling.config import build_config
from crossling.pipelines.experiment import run_experiment

#: Word class of every word: the tag is a function of the word alone, so a tiny model can learn it.
LEXICON = {
    "en": {
        "DET": ["the", "a", "every"],
        "ADJ": ["red", "blue", "green", "big"],
        "NOUN": ["cat", "dog", "bird", "tree"],
        "VERB": ["sees", "likes", "chases"],
        "ADP": ["near", "under"],
        "PUNCT": [".", ","],
    },
    "xx": {
        "DET": ["le", "un", "chaque"],
        "ADJ": ["rot", "blau", "grun", "gross"],
        "NOUN": ["katze", "hund", "vogel", "baum"],
        "VERB": ["sieht", "mag", "jagt"],
        "ADP": ["pres", "sous"],
        "PUNCT": [".", ","],
    },
}
#: One clause: DET ADJ NOUN VERB DET NOUN ADP DET NOUN; sentences join one to four clauses with ",".
CLAUSE = ("DET", "ADJ", "NOUN", "VERB", "DET", "NOUN", "ADP", "DET", "NOUN")


def toy_sentence(rng: random.Random, language: str) -> list[tuple[str, str]]:
    """A sentence of one to four clauses (9 to 40 words) with its tags."""
    words: list[tuple[str, str]] = []
    for clause in range(rng.choice([1, 1, 1, 2, 4])):
        if clause:
            words.append((",", "PUNCT"))
        words += [(rng.choice(LEXICON[language][tag]), tag) for tag in CLAUSE]
    return words + [(".", "PUNCT")]


def write_tagging_layout(directory: Path, sizes: dict[tuple[str, str], int]) -> Path:
    """XTREME's ``{split}-{lang}.tsv``: ``word<TAB>tag`` lines, a blank line between sentences."""
    directory.mkdir(parents=True, exist_ok=True)
    for seed, ((split, language), n) in enumerate(sizes.items()):
        rng = random.Random(seed)
        sentences = ["".join(f"{w}\t{t}\n" for w, t in toy_sentence(rng, language)) for _ in range(n)]
        (directory / f"{split}-{language}.tsv").write_text("\n".join(sentences), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tagging")
    data = write_tagging_layout(
        root / "data", {("train", "en"): 200, ("dev", "en"): 40, ("test", "en"): 60, ("test", "xx"): 60}
    )
    texts = [" ".join(words) for lexicon in LEXICON.values() for words in lexicon.values()] * 20
    return data, make_tiny_model_dir(root / "model", texts)


def test_pos_task_is_learned_with_windows_and_every_language_is_reported(toy, tmp_path):
    data, model = toy
    config = build_config(
        {
            "name": "toy-udpos",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(model)},
            "aggregation": {"strategy": "last"},
            # max_length 24: the long (up to 40-word) sentences are cut into overlapping windows.
            "task": {
                "name": "udpos",
                "source": "local",
                "data_dir": str(data),
                "eval_languages": ["en", "xx"],
                "extra_languages": ["xx"],
                "max_length": 24,
            },
            "training": {
                "epochs": 3,
                "batch_size": 16,
                "learning_rate": 2e-3,
                "checkpoint_every_steps": 0,
                "mixed_precision": "no",
            },
        }
    )
    results = run_experiment(config, show_progress=False)

    assert set(results["languages"]) == {"en", "xx"}
    english = results["languages"]["en"]
    assert english["f1"] >= 90.0 and english["pos_accuracy"] >= 90.0
    assert results["metric"] == "f1" and results["languages"]["xx"]["count"] == 60
    assert "pos_accuracy" in results["languages"]["xx"]

    run_dir = tmp_path / "runs" / "toy-udpos"
    assert json.loads((run_dir / "results.json").read_text())["languages"] == results["languages"]
    for language in ("en", "xx"):
        gold_text = (data / f"test-{language}.tsv").read_text(encoding="utf-8")
        predicted_text = (run_dir / "predictions" / "udpos" / f"test-{language}.tsv").read_text(encoding="utf-8")
        gold = [block.split("\n") for block in gold_text.strip("\n").split("\n\n")]
        predicted = [block.split("\n") for block in predicted_text.strip("\n").split("\n\n")]
        # One tag per gold word, sentence by sentence; the file ends with a single newline.
        assert [len(s) for s in predicted] == [len(s) for s in gold]
        assert max(len(s) for s in gold) > 24  # some sentences did need windows
        assert predicted_text.endswith("\n") and not predicted_text.endswith("\n\n")
        if language == "en":
            pairs = [
                (p, g.split("\t")[1])
                for ps, gs in zip(predicted, gold, strict=True)
                for p, g in zip(ps, gs, strict=True)
            ]
            accuracy = 100 * sum(p == g for p, g in pairs) / len(pairs)
            assert accuracy == pytest.approx(english["pos_accuracy"])


def test_results_count_training_sentences_not_windows_and_record_the_data_caps(toy, tmp_path):
    data, model = toy
    config = build_config(
        {
            "name": "toy-count",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(model)},
            "task": {
                "name": "udpos",
                "source": "local",
                "data_dir": str(data),
                "eval_languages": ["en"],
                "max_length": 24,
                "max_eval_examples": 30,
            },
            "training": {"max_steps": 1, "batch_size": 16, "checkpoint_every_steps": 0, "mixed_precision": "no"},
        }
    )
    results = run_experiment(config, show_progress=False)
    assert results["data_caps"] == {"max_train_examples": None, "max_eval_examples": 30}
    assert results["languages"]["en"]["count"] == 30
    stage = results["stages"][0]
    assert stage["train_examples"] == 200  # the sentences of train-en.tsv
    assert stage["train_features"] > 200  # the long ones became several windows
