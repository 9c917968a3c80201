"""End-to-end: a tiny BERT trained on learnable toy QA (XQuAD layout) and 2-choice (XCOPA layout) tasks."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from tiny import WORDS, make_tiny_model_dir

from crossling.config import build_config
from crossling.pipelines.experiment import run_experiment

MARKER = "zq"


def _qa_questions(language: str, n: int, seed: int, prefix: str) -> list[dict]:
    """Contexts of 6-9 words with the marker somewhere; the answer is the word right after the marker."""
    rng = random.Random(seed)
    paragraphs = []
    for i in range(n):
        words = [rng.choice(WORDS[language]) for _ in range(rng.randint(6, 9))]
        at = rng.randint(0, len(words) - 1)
        words.insert(at, MARKER)
        context = " ".join(words)
        start = len(" ".join(words[: at + 1])) + 1
        answer = words[at + 1]
        assert context[start : start + len(answer)] == answer
        qa = {
            "id": f"{prefix}{i}",
            "question": f"what follows {MARKER} ?",
            "answers": [{"text": answer, "answer_start": start}],
        }
        paragraphs.append({"context": context, "qas": [qa]})
    return paragraphs


def _write_squad(path: Path, paragraphs: list[dict]) -> None:
    path.write_text(
        json.dumps({"version": "1.1", "data": [{"title": "toy", "paragraphs": paragraphs}]}), encoding="utf-8"
    )


def _choice_lines(language: str, n: int, seed: int) -> str:
    """The correct choice starts with the premise's first word; the other with another word."""
    rng = random.Random(seed)
    words = WORDS[language]
    lines = []
    for i in range(n):
        first, other = rng.sample(words[:6], 2)
        premise = f"{first} {rng.choice(words[6:])}"
        right, wrong = f"{first} {rng.choice(words[6:])}", f"{other} {rng.choice(words[6:])}"
        label = i % 2
        choices = (wrong, right) if label else (right, wrong)
        lines.append(
            json.dumps(
                {
                    "premise": premise,
                    "choice1": choices[0],
                    "choice2": choices[1],
                    "question": "cause",
                    "label": label,
                    "idx": i,
                }
            )
        )
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread; several threads spin against each other on a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("toy-qa-choice")
    qa = root / "qa"
    qa.mkdir()
    squad = root / "squad"
    squad.mkdir()
    _write_squad(squad / "train-v1.1.json", _qa_questions("en", 600, 1, "train-"))
    _write_squad(squad / "dev-v1.1.json", _qa_questions("en", 60, 2, "dev-"))
    _write_squad(qa / "xquad.en.json", _qa_questions("en", 100, 3, "en-"))
    _write_squad(qa / "xquad.xx.json", _qa_questions("xx", 100, 4, "xx-"))
    choice = root / "xcopa"
    for lang, split, n, seed in (
        ("en", "train", 600, 5),
        ("en", "val", 60, 6),
        ("en", "test", 100, 7),
        ("xx", "test", 100, 8),
    ):
        (choice / lang).mkdir(parents=True, exist_ok=True)
        name = f"{split}-{lang}.jsonl" if lang == "en" else f"{split}.{lang}.jsonl"
        (choice / lang / name).write_text(_choice_lines(lang, n, seed), encoding="utf-8")
    texts = [" ".join(words + [MARKER, "what", "follows", "?"]) for words in WORDS.values()] * 10
    model = make_tiny_model_dir(root / "model", texts)
    return {"qa": qa, "squad": squad, "choice": choice, "model": model}


def _config(toy, tmp_path: Path, name: str, task: dict, **training):
    return build_config(
        {
            "name": name,
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(toy["model"])},
            "task": {**task, "source": "local", "eval_languages": ["en", "xx"], "extra_languages": ["xx"]},
            "training": {"batch_size": 16, "learning_rate": 1e-3, "checkpoint_every_steps": 0, **training},
        }
    )


def test_qa_trained_on_squad_file_answers_english_and_reports_every_language(toy, tmp_path):
    config = _config(
        toy,
        tmp_path,
        "toy-xquad",
        {"name": "xquad", "data_dir": str(toy["qa"]), "max_length": 48, "params": {"squad_dir": str(toy["squad"])}},
        epochs=6,
    )
    results = run_experiment(config, show_progress=False)
    assert set(results["languages"]) == {"en", "xx"}
    assert results["languages"]["en"]["f1"] >= 80.0
    assert results["languages"]["en"]["squad"] == results["languages"]["en"]["f1"]
    assert results["languages"]["xx"]["count"] == 100
    assert results["selection"]["dev_language"] == "en" and results["selection"]["dev_score"] is not None
    predictions = json.loads((tmp_path / "runs" / "toy-xquad" / "predictions" / "xquad" / "test-en.json").read_text())
    assert len(predictions) == 100 and all(key.startswith("en-") for key in predictions)


def test_choice_task_trained_on_english_copa_layout_reaches_90_percent(toy, tmp_path):
    config = _config(
        toy, tmp_path, "toy-xcopa", {"name": "xcopa", "data_dir": str(toy["choice"])}, epochs=8, batch_size=8
    )
    results = run_experiment(config, show_progress=False)
    assert set(results["languages"]) == {"en", "xx"}
    assert results["languages"]["en"]["accuracy"] >= 90.0
    assert results["languages"]["xx"]["count"] == 100
    lines = (tmp_path / "runs" / "toy-xcopa" / "predictions" / "xcopa" / "test-en.tsv").read_text()
    assert len(lines.splitlines()) == 100 and set(lines.split()) <= {"0", "1"}
