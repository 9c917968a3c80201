"""The layer study: DLFA cells from a study, the probe-gain correlation, and the report from a real tiny study."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from crossling.analysis.layer_study import layer_cells, probe_gain_correlation
from crossling.cli.main import app
from crossling.config import build_config
from crossling.pipelines.study import run_study


def _comparison(diff: float, significant: bool) -> dict:
    entry = {"diff": diff, "low": diff - 1, "high": diff + 1, "p": 0.01, "p_holm": 0.02 if significant else 0.4}
    return {"languages": {}, "averages": {"transfer": {**entry, "significant": significant}}}


STUDY = {
    "baseline": "last",
    "comparisons": {"k8": _comparison(1.5, True), "k4": _comparison(-0.5, False), "mean": _comparison(0.2, False)},
}
AGGREGATIONS = {
    "last": {"strategy": "last"},
    "k8": {"strategy": "dlfa", "layer": 8, "gate": "scalar"},
    "k4": {"strategy": "dlfa", "layer": 4},
    "mean": {"strategy": "mean", "layer": 6},
}


def test_layer_cells_are_the_dlfa_systems_by_gate_and_layer():
    cells = layer_cells("udpos", STUDY, AGGREGATIONS)
    assert [(c.system, c.layer, c.gated, c.diff, c.significant) for c in cells] == [
        ("k4", 4, False, -0.5, False),
        ("k8", 8, True, 1.5, True),
    ]
    assert cells[1].low == 0.5 and cells[1].high == 2.5 and cells[1].p_holm == 0.02
    with pytest.raises(ValueError, match="not the last layer"):
        layer_cells("udpos", {**STUDY, "baseline": "k4"}, AGGREGATIONS)
    with pytest.raises(ValueError, match="no 'overall' average"):
        layer_cells("udpos", STUDY, AGGREGATIONS, average="overall")


def test_probe_gain_correlation_equals_scipy_and_needs_three_points():
    from scipy import stats

    cells = [
        c
        for k, diff in [(2, -1.0), (4, 0.5), (6, 0.1), (8, 2.0)]
        for c in layer_cells(
            "t",
            {"baseline": "last", "comparisons": {"s": _comparison(diff, False)}},
            {"last": {"strategy": "last"}, "s": {"strategy": "dlfa", "layer": k}},
        )
    ]
    probe = {2: 40.0, 4: 55.0, 6: 50.0, 8: 80.0, 11: 90.0}
    result = probe_gain_correlation(cells, probe)
    xs, ys = [40.0, 55.0, 50.0, 80.0], [-1.0, 0.5, 0.1, 2.0]
    assert result["n"] == 4
    assert result["spearman"]["r"] == pytest.approx(stats.spearmanr(xs, ys).statistic) == pytest.approx(1.0)
    assert result["pearson"]["r"] == pytest.approx(stats.pearsonr(xs, ys).statistic)
    assert probe_gain_correlation(cells[:2], probe) == {"n": 2, "spearman": None, "pearson": None}


def test_layer_study_command_writes_heatmap_table_and_json_from_a_real_study(tiny_model, toy_pawsx, tmp_path):
    config = build_config(
        {
            "name": "layers",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(tiny_model)},
            "task": {"name": "pawsx", "source": "local", "data_dir": str(toy_pawsx), "eval_languages": ["en", "de"]},
            "training": {"epochs": 1, "batch_size": 16, "learning_rate": 1e-3, "checkpoint_every_steps": 100},
            "variants": {
                "last": {},
                "k1": {"aggregation.strategy": "dlfa", "aggregation.layer": 1},
                "k2-gated": {"aggregation.strategy": "dlfa", "aggregation.layer": 2, "aggregation.gate": "scalar"},
            },
            "seeds": [1, 2],
            "study": {"resamples": 200, "permutations": 99},
        }
    )
    study, path = run_study(config, show_progress=False)
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "probe.json").write_text(
        json.dumps({"layers": [{"layer": k, "retrieval_mean": 10.0 * k} for k in range(4)]}), encoding="utf-8"
    )
    out = tmp_path / "layer-study"
    result = CliRunner().invoke(app, ["layer-study", str(path.parent), "--output-dir", str(out), "--probe", str(probe)])
    assert result.exit_code == 0, result.output
    written = json.loads((out / "layer_study.json").read_text())
    assert [(c["system"], c["layer"], c["gated"]) for c in written["cells"]] == [
        ("k1", 1, False),
        ("k2-gated", 2, True),
    ]
    expected = study["comparisons"]["k1"]["averages"]["transfer"]["diff"]
    assert written["cells"][0]["diff"] == pytest.approx(expected)
    assert written["probe_correlation"]["n"] == 2 and written["probe_correlation"]["spearman"] is None
    table = (out / "layer_study.md").read_text()
    assert f"| pawsx | 1 | no | {expected:+.2f}" in table and "Probe retrieval vs gain: not defined (2 points)" in table
    assert (out / "layer_study.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # --readme regenerates a named block of a document with the same table, and leaves the rest alone.
    doc = tmp_path / "doc.md"
    doc.write_text("intro\n<!-- study-table:layers:begin -->\nold\n<!-- study-table:layers:end -->\nend\n")
    again = ["layer-study", str(path.parent), "--output-dir", str(out), "--readme", str(doc), "--block", "layers"]
    assert CliRunner().invoke(app, again).exit_code == 0
    text = doc.read_text()
    assert text.startswith("intro\n<!-- study-table:layers:begin -->\n") and text.endswith("end\n")
    assert "old" not in text and f"| pawsx | 1 | no | {expected:+.2f}" in text
    missing = CliRunner().invoke(app, [*again[:-1], "nowhere"])
    assert missing.exit_code == 2 and missing.output.startswith("error:") and "nowhere" in missing.output


def test_layer_study_of_a_directory_without_a_study_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["layer-study", str(tmp_path), "--output-dir", str(tmp_path / "out")])
    assert result.exit_code == 2 and result.output.startswith("error:") and "no study.json" in result.output
