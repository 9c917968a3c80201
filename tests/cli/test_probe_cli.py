"""``crossling probe``: a tiny model probed from flags (table, JSON, Markdown, PNG) and one-line errors."""

from __future__ import annotations

import json

from tiny import WORDS, make_tiny_model_dir
from typer.testing import CliRunner

from crossling.cli.main import app

runner = CliRunner()


def test_probe_writes_the_table_json_and_plot_of_every_hidden_state(tmp_path):
    model = make_tiny_model_dir(tmp_path / "model", [" ".join(words) for words in WORDS.values()] * 10, layers=2)
    out = tmp_path / "probe"
    result = runner.invoke(
        app,
        [
            "probe",
            str(model),
            "--task",
            "tmpl-retrieval",
            "-l",
            "de",
            "-l",
            "fr",
            "--max-sentences",
            "24",
            "--seeds",
            "2",
            "--output-dir",
            str(out),
            "--set",
            "training.mixed_precision='no'",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    written = json.loads((out / "probe.json").read_text())
    assert [entry["layer"] for entry in written["layers"]] == [0, 1, 2]
    assert written["data"] == {"task": "tmpl-retrieval", "split": "dev", "sentences": {"de": 24, "fr": 24}}
    assert all(
        set(entry["retrieval"]) == {"de", "fr"} and len(entry["language_id"]["per_seed"]) == 2
        for entry in written["layers"]
    )
    assert (out / "probe.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "probe.md").read_text().count("\n| ") >= 4
    assert "language ID" in result.output


def test_probe_errors_are_one_line(tmp_path):
    result = runner.invoke(app, ["probe", "offline:multilingual-e5-small", "--task", "udpos", "-l", "de"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    result = runner.invoke(app, ["probe", "--task", "tmpl-retrieval", "--max-sentences", "2"])
    assert result.exit_code == 2 and "probe.max_sentences: expected an integer >= 8, got 2" in result.output
    assert len(result.output.strip().splitlines()) == 1
