"""``aggregation.layer: auto``: k chosen from the probe before training, recorded, reused, and the premise check."""

from __future__ import annotations

import json
import logging

import pytest
from tiny import WORDS, make_tiny_model_dir, write_pawsx_layout

from crossling.analysis.layers import LanguageIdResult, LayerScores, ProbeResult
from crossling.config import build_config
from crossling.config.schema import AggregationConfig
from crossling.errors import ConfigError
from crossling.models.model import aggregator_options
from crossling.pipelines import layer_choice
from crossling.pipelines.experiment import run_experiment

PROBE = {"task": "tmpl-retrieval", "languages": ["de", "fr"], "max_sentences": 24, "seeds": 1}


def test_auto_layer_is_chosen_before_training_and_recorded(tmp_path):
    data = write_pawsx_layout(tmp_path / "data", train=64, dev=16, test=16)
    model = make_tiny_model_dir(tmp_path / "model", [" ".join(words) for words in WORDS.values()] * 10)
    config = build_config(
        {
            "name": "auto",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(model)},
            "aggregation": {"strategy": "dlfa", "layer": "auto"},
            "probe": PROBE,
            "task": {"name": "pawsx", "source": "local", "data_dir": str(data), "eval_languages": ["en"]},
            "training": {"max_steps": 2, "batch_size": 16, "mixed_precision": "no"},
        }
    )
    results = run_experiment(config, show_progress=False)
    choice = results["aggregation"]["layer_choice"]
    assert results["aggregation"]["layer"] == "auto"
    retrieval = choice["retrieval_by_layer"]
    assert len(retrieval) == 4 and len(choice["language_id_by_layer"]) == 4 and len(choice["cka_by_layer"]) == 4
    # The rule: the best of the lower layers 1..L-1, ties to the higher one; premise = beats the last layer.
    assert choice["layer"] == max((1, 2), key=lambda k: (retrieval[k], k))
    assert choice["premise_holds"] == (retrieval[choice["layer"]] > retrieval[3])
    assert choice["probe"] == {
        "task": "tmpl-retrieval",
        "split": "dev",
        "sentences": {"de": 24, "fr": 24},
        "seeds": [0],
    }
    run_dir = tmp_path / "runs" / "auto"
    assert json.loads((run_dir / "manifest.json").read_text())["layer_choice"] == choice
    assert json.loads((run_dir / "layer_choice.json").read_text())["layer"] == choice["layer"]


def _probe(retrieval: list[float]) -> ProbeResult:
    layers = tuple(
        LayerScores(k, {"de": {"xx_en": r, "en_xx": r}}, LanguageIdResult(90.0, 0.0, (90.0,)), {"de": 0.5})
        for k, r in enumerate(retrieval)
    )
    return ProbeResult("stub", {"task": "tmpl-retrieval", "split": "dev", "sentences": {"de": 24}}, layers, (0,))


def test_the_log_and_the_record_say_when_dlfas_premise_does_not_hold(tmp_path, monkeypatch, caplog):
    config = build_config({"aggregation": {"strategy": "dlfa", "layer": "auto"}, "probe": PROBE})
    monkeypatch.setattr(layer_choice, "load_model_target", lambda model: None)
    monkeypatch.setattr(layer_choice, "run_probe", lambda target, cfg: _probe([10.0, 50.0, 60.0, 70.0, 90.0]))
    with caplog.at_level(logging.INFO, logger="crossling"):
        resolved = layer_choice.resolve_layer(config, tmp_path)
    assert resolved.aggregation.layer == 3 and config.aggregation.layer == "auto"
    assert "DLFA's premise does not hold for this encoder" in caplog.text
    record = layer_choice.read_layer_choice(tmp_path)
    assert record["premise_holds"] is False and record["note"] == layer_choice.PREMISE_FAILS

    def must_not_probe(*args):
        raise AssertionError("probed again although the choice is recorded")

    monkeypatch.setattr(layer_choice, "run_probe", must_not_probe)
    assert layer_choice.resolve_layer(config, tmp_path).aggregation.layer == 3
    changed = build_config({"aggregation": {"strategy": "dlfa", "layer": "auto"}, "probe": {**PROBE, "seeds": 2}})
    with pytest.raises(AssertionError, match="probed again"):
        layer_choice.resolve_layer(changed, tmp_path)  # other probe settings: a new choice


def test_a_lower_layer_that_retrieves_better_is_chosen_and_the_premise_holds(tmp_path, monkeypatch):
    config = build_config({"aggregation": {"strategy": "dlfa", "layer": "auto"}, "probe": PROBE})
    monkeypatch.setattr(layer_choice, "load_model_target", lambda model: None)
    monkeypatch.setattr(layer_choice, "run_probe", lambda target, cfg: _probe([10.0, 50.0, 80.0, 80.0, 70.0]))
    assert layer_choice.resolve_layer(config, tmp_path).aggregation.layer == 3
    assert layer_choice.read_layer_choice(tmp_path)["premise_holds"] is True


def test_the_probe_never_reads_the_evaluated_split():
    config = build_config(
        {
            "aggregation": {"strategy": "dlfa", "layer": "auto"},
            "task": {"name": "tmpl-retrieval", "eval_split": "dev"},
            "probe": PROBE,
        }
    )
    with pytest.raises(ConfigError, match="evaluated dev split"):
        layer_choice.check_probe_data(config)


def test_auto_is_validated_in_one_line_and_never_reaches_the_model():
    assert build_config({"aggregation": {"strategy": "dlfa", "layer": "auto"}}).aggregation.layer == "auto"
    with pytest.raises(ConfigError) as error:
        build_config({"aggregation": {"strategy": "dlfa", "layer": "automatic"}})
    assert str(error.value) == "config: aggregation.layer: expected int or one of 'auto' or null, got 'automatic'"
    with pytest.raises(ConfigError, match="auto is resolved by crossling run/train"):
        aggregator_options(AggregationConfig(strategy="dlfa", layer="auto"))
    assert layer_choice.resolve_layer(build_config({}), None) == build_config({})  # nothing to resolve
