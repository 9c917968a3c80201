"""Training languages chosen by URIEL distance: the right languages, recorded in config.yaml and manifest.json, one-line errors."""

from __future__ import annotations

import importlib.util
import json
from importlib import metadata

import pytest
import yaml
from tiny import make_tiny_model_dir, toy_pair_rows

from crossling.config import build_config, dump_config, replace_dotted
from crossling.config.selection import manifest_selections
from crossling.errors import ConfigError
from crossling.tasks.loading import task_languages
from crossling.utils import typology

needs_lang2vec = pytest.mark.skipif(
    importlib.util.find_spec("lang2vec") is None,
    reason="lang2vec (URIEL data) is not installed: pip install 'crossling[typology]'",
)
PAWSX = ["en", "de", "es", "fr", "ja", "ko", "zh"]


def _pawsx(rule, **task):
    return build_config({"task": {"name": "pawsx", "train_languages": rule, **task}}, task_languages=task_languages)


@needs_lang2vec
def test_nearest_and_farthest_pick_the_typologically_expected_languages():
    # Japanese is SOV with postpositions: Korean is its nearest PAWS-X language, then Chinese;
    # the Romance languages are the farthest (URIEL syntax, lang2vec's predicted features).
    nearest = _pawsx({"nearest": 2, "to": "ja", "from": PAWSX})
    assert nearest.task.train_languages == ("ko", "zh")
    farthest = _pawsx({"farthest": 2, "to": "ja", "from": PAWSX})
    assert farthest.task.train_languages == ("es", "fr")
    record = farthest.task.train_language_selection
    assert record["rule"] == {
        "farthest": 2,
        "to": "ja",
        "features": "syntax",
        "from": ["ko", "zh", "de", "en", "fr", "es"],
    }
    for language, distance in record["distances"].items():
        assert distance == pytest.approx(typology.typological_distance("ja", language), abs=1e-6)
    assert list(record["distances"].values()) == sorted(record["distances"].values())


@needs_lang2vec
def test_from_defaults_to_every_language_the_task_declares():
    config = _pawsx({"nearest": 1, "to": "ja", "features": "phonology"})
    rule = config.task.train_language_selection["rule"]
    assert sorted(rule["from"]) == sorted(set(PAWSX) - {"ja"}) and rule["features"] == "phonology"
    assert config.task.train_languages == (next(iter(config.task.train_language_selection["distances"])),)


@needs_lang2vec
def test_intermediate_rules_are_resolved_and_recorded_in_the_dumped_config_and_manifest():
    config = build_config(
        {"intermediate": [{"task": {"name": "xnli", "train_languages": {"nearest": 2, "to": "ja", "from": PAWSX}}}]}
    )
    assert config.intermediate[0].task.train_languages == ("ko", "zh")
    dumped = yaml.safe_load(dump_config(config))
    assert dumped["intermediate"][0]["task"]["train_languages"] == ["ko", "zh"]
    assert dumped["intermediate"][0]["task"]["train_language_selection"]["rule"]["nearest"] == 2
    assert build_config(dumped) == config  # the resolved config.yaml loads back unchanged
    entry = manifest_selections(config)["train_language_selection"]
    assert list(entry) == ["intermediate[0].task"] and entry["intermediate[0].task"]["rule"]["to"] == "ja"
    assert manifest_selections(build_config({})) == {}


@needs_lang2vec
def test_a_later_list_of_languages_drops_the_stale_record():
    config = _pawsx({"nearest": 2, "to": "ja", "from": PAWSX})
    assert replace_dotted(config, {"seed": 1}).task.train_language_selection  # still the rule's choice
    listed = replace_dotted(config, {"task.train_languages": ["en"]})
    assert listed.task.train_languages == ("en",) and listed.task.train_language_selection == {}


@needs_lang2vec
@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"to": "ja", "from": PAWSX}, "task.train_languages: give exactly one of nearest: k or farthest: k"),
        ({"nearest": 1, "farthest": 1, "to": "ja", "from": PAWSX}, "task.train_languages: give exactly one of"),
        ({"nearest": 0, "to": "ja", "from": PAWSX}, "task.train_languages.nearest: expected an integer >= 1"),
        ({"nearest": 1, "to": "ja", "from": PAWSX, "form": []}, "task.train_languages: unknown key 'form'"),
        ({"nearest": 1, "to": "xx", "from": PAWSX}, "task.train_languages.to: language 'xx' is not in URIEL"),
        ({"nearest": 1, "to": "ja", "from": ["en", "qqq"]}, "task.train_languages.from: language 'qqq' is not in"),
        ({"nearest": 1, "to": "ja", "from": PAWSX, "features": "semantics"}, "train_languages.features: unknown"),
        ({"farthest": 3, "to": "ja", "from": ["en", "de", "ja"]}, "farthest: 3 languages asked for, but only 2"),
    ],
)
def test_bad_rules_are_one_line_errors_naming_the_key(rule, message):
    with pytest.raises(ConfigError) as caught:
        build_config({"task": {"name": "pawsx", "train_languages": rule}}, source="rq2.yaml")
    assert str(caught.value).startswith("rq2.yaml: ") and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_rule_without_from_needs_the_task_registry():
    with pytest.raises(ConfigError, match=r"task.train_languages.from: list the candidate languages"):
        build_config({"task": {"name": "pawsx", "train_languages": {"nearest": 1, "to": "ja"}}})


def test_without_lang2vec_the_error_says_how_to_install_it(monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)

    typology._feature_table.cache_clear()
    monkeypatch.setattr(typology.metadata, "distribution", missing)
    try:
        with pytest.raises(ConfigError) as caught:
            build_config({"task": {"name": "pawsx", "train_languages": {"nearest": 1, "to": "ja", "from": PAWSX}}})
    finally:
        typology._feature_table.cache_clear()
    assert "task.train_languages.to: " in str(caught.value)
    assert "pip install 'crossling[typology]'" in str(caught.value) and "\n" not in str(caught.value)


@needs_lang2vec
def test_a_run_records_the_chosen_languages_in_config_yaml_and_manifest(tmp_path):
    from crossling.pipelines.experiment import run_experiment

    data = tmp_path / "data"
    data.mkdir()
    for seed, (split, language, n) in enumerate([("train", "de", 64), ("dev", "de", 16), ("test", "en", 16)]):
        rows = toy_pair_rows(language, n, seed=seed + 1)
        (data / f"{split}-{language}.tsv").write_text("".join(f"{a}\t{b}\t{y}\n" for a, b, y in rows))
    model = make_tiny_model_dir(tmp_path / "model", [a + " " + b for a, b, _ in toy_pair_rows("de", 50, 0)])
    config = build_config(
        {
            "name": "rule",
            "output_dir": str(tmp_path / "runs"),
            "model": {"name_or_path": str(model)},
            "task": {
                "name": "pawsx",
                "source": "local",
                "data_dir": str(data),
                "train_languages": {"nearest": 1, "to": "ja", "from": ["en", "de"]},  # de: 0.433, en: 0.500
                "eval_languages": ["en"],
            },
            "training": {"max_steps": 2, "batch_size": 16},
        }
    )
    run_experiment(config, show_progress=False)
    run_dir = tmp_path / "runs" / "rule"
    recorded = yaml.safe_load((run_dir / "config.yaml").read_text())["task"]
    assert recorded["train_languages"] == ["de"] and list(recorded["train_language_selection"]["distances"]) == [
        "de",
        "en",
    ]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["train_language_selection"]["task"] == recorded["train_language_selection"]


@needs_lang2vec
def test_the_rq2_example_trains_pawsx_in_the_two_nearest_and_farthest_languages_to_swahili(shared_data):
    from pathlib import Path

    from crossling.config import load_config
    from crossling.pipelines.sweep import expand

    path = Path(__file__).resolve().parents[2] / "examples" / "rq2-typology-intermediate.yaml"
    members = expand(load_config(path, task_languages=task_languages))
    chosen = {m.name.split(",")[0]: [s.task.train_languages for s in m.intermediate] for m in members}
    # URIEL syntax distance to sw: fr 0.417, es 0.435, de 0.524, zh 0.684, ja 0.722, ko 0.789.
    assert chosen == {"no-intermediate": [], "near-sw": [("fr", "es")], "far-from-sw": [("ko", "ja")]}
    assert len(members) == 9 and all(m.task.name == "xnli" for m in members)


def test_a_hand_written_record_that_did_not_choose_the_list_is_dropped():
    for record in ({"rule": [1], "distances": {}}, {"rule": {"nearest": 1}, "distances": {"de": 0.1}}):
        config = build_config({"task": {"train_languages": ["en"], "train_language_selection": record}})
        assert config.task.train_language_selection == {}
    kept = {"rule": {"nearest": 1, "to": "ja"}, "distances": {"en": 0.5, "de": 0.6}}
    config = build_config({"task": {"train_languages": ["en"], "train_language_selection": kept}})
    assert config.task.train_language_selection == kept
