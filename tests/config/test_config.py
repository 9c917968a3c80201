"""Config loading: every error names the key or file (and the nearest valid key); overrides; sweeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossling.config import build_config, describe_fields, dump_config, load_config
from crossling.config.schema import ExperimentConfig
from crossling.errors import ConfigError
from crossling.pipelines.sweep import expand


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_documented_and_valid():
    config = build_config({})
    assert config.aggregation.strategy == "last" and config.training.learning_rate == 2e-5
    rows = describe_fields()
    assert all(help_text for _, _, _, help_text in rows), "every option needs help text"
    assert ("training.learning_rate", "float", "2e-05", "Peak AdamW learning rate.") in rows


def test_unknown_key_names_file_key_and_nearest(tmp_path):
    path = write(tmp_path, "training:\n  learning_rat: 3e-5\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert (
        str(path) in message and "training.learning_rat" in message and "did you mean training.learning_rate" in message
    )


def test_wrong_type_and_bad_choice_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"training.epochs: expected an integer, got 'three'"):
        load_config(write(tmp_path, "training: {epochs: three}\n"))
    with pytest.raises(ConfigError, match=r"aggregation.norm: .*did you mean 'layernorm'"):
        load_config(write(tmp_path, "aggregation: {norm: layernrm}\n"))
    with pytest.raises(ConfigError, match=r"task.train_languages\[1\]: expected a string"):
        load_config(write(tmp_path, "task: {train_languages: [en, 3]}\n"))


def test_missing_files_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match=r"task.data_dir: directory not found: .*nowhere"):
        load_config(write(tmp_path, f"task: {{data_dir: {tmp_path / 'nowhere'}}}\n"))
    with pytest.raises(ConfigError, match=r"exp.yaml:\d+: invalid YAML"):
        load_config(write(tmp_path, "task:\n  name: [xnli\n"))


def test_semantic_validation(tmp_path):
    with pytest.raises(ConfigError, match="training.learning_rate: expected > 0"):
        build_config({"training": {"learning_rate": 0}})
    with pytest.raises(ConfigError, match="warmup_ratio"):
        build_config({"training": {"warmup_ratio": 1.5}})


def test_overrides_are_typed_and_validated(tmp_path):
    path = write(tmp_path, "task: {name: xnli}\n")
    config = load_config(
        path, ["training.learning_rate=3e-5", "task.eval_languages=[de, fr]", "aggregation.strategy=dlfa"]
    )
    assert config.training.learning_rate == 3e-5
    assert config.task.eval_languages == ("de", "fr")
    assert config.aggregation.strategy == "dlfa"
    with pytest.raises(ConfigError, match="unknown key 'training.lr'"):
        load_config(path, ["training.lr=1"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_config(path, ["training.epochs"])


def test_dump_round_trips(tmp_path):
    config = build_config({"task": {"name": "pawsx", "train_languages": ["en", "de"]}, "seed": 7})
    again = load_config(write(tmp_path, dump_config(config)))
    assert again == config and isinstance(again, ExperimentConfig)


def test_variants_cross_the_grid_and_members_validate(tmp_path):
    config = build_config(
        {
            "name": "cmp",
            "output_dir": str(tmp_path),
            "variants": {"last": {}, "dlfa": {"aggregation.strategy": "dlfa", "aggregation.layer": 6}},
            "sweep": {"seed": [1, 2]},
        }
    )
    members = expand(config)
    assert [m.name for m in members] == ["last,seed=1", "last,seed=2", "dlfa,seed=1", "dlfa,seed=2"]
    assert {m.output_dir for m in members} == {tmp_path / "cmp"}
    assert members[2].aggregation.layer == 6 and members[3].seed == 2
    bad = build_config({"variants": {"oops": {"aggregation.strateg": "dlfa"}}})
    with pytest.raises(ConfigError, match="sweep member 'oops'.*aggregation.strateg"):
        expand(bad)


def test_a_relative_data_dir_resolves_against_the_config_files_directory(tmp_path, monkeypatch):
    (tmp_path / "configs" / "data" / "pawsx").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    path = tmp_path / "configs" / "exp.yaml"
    path.write_text("task: {name: pawsx, source: local, data_dir: data/pawsx}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert load_config(path).task.data_dir == tmp_path / "configs" / "data" / "pawsx"
    # On the command line a relative path is the working directory's, as for any command.
    (tmp_path / "elsewhere" / "mine").mkdir()
    assert load_config(path, ["task.data_dir=mine"]).task.data_dir == Path("mine")


def test_the_readme_examples_load_from_any_working_directory(tmp_path, monkeypatch, shared_data):
    examples = Path(__file__).resolve().parents[2] / "examples"
    monkeypatch.chdir(tmp_path)
    assert load_config(examples / "xnli-dlfa.yaml").task.name == "xnli"
    udpos = load_config(examples / "udpos-e5-dlfa.yaml").task.data_dir
    assert udpos == (shared_data / "udpos").resolve() and (udpos / "train-en.tsv").is_file()


def test_a_repeated_yaml_key_is_an_error_naming_the_key_and_both_lines(tmp_path):
    path = write(tmp_path, "training:\n  epochs: 2\n  batch_size: 8\n  epochs: 3\n")
    with pytest.raises(ConfigError, match=r"exp.yaml:4: invalid YAML \(duplicate key 'epochs' \(first on line 2\)"):
        load_config(path)


def test_variants_name_their_data_as_seen_from_the_file(tmp_path, monkeypatch):
    (tmp_path / "configs").mkdir()
    (tmp_path / "elsewhere").mkdir()
    path = tmp_path / "configs" / "exp.yaml"
    path.write_text(
        "variants:\n"
        "  a: {task: {name: pawsx, source: local, data_dir: data/a}}\n"
        "  b: {task.data_dir: data/b, intermediate: [{task: {name: xnli, data_dir: data/c}}]}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path / "elsewhere")
    variants = load_config(path).variants
    assert variants["a"]["task"]["data_dir"] == str(tmp_path / "configs" / "data" / "a")
    assert variants["b"]["task.data_dir"] == str(tmp_path / "configs" / "data" / "b")
    assert variants["b"]["intermediate"][0]["task"]["data_dir"] == str(tmp_path / "configs" / "data" / "c")


def test_the_rq4_example_ensembles_every_kind_on_the_shared_data(tmp_path, monkeypatch, shared_data):
    monkeypatch.chdir(tmp_path)
    config = load_config(Path(__file__).resolve().parents[2] / "examples" / "rq4-ensembles.yaml")
    members = {member.name: member for member in expand(config)}
    assert {m.task.name for m in members.values()} == {"pawsx", "udpos", "xquad", "tatoeba"}
    assert all(m.task.data_dir == (shared_data / m.task.name).resolve() for m in members.values())
    assert all(m.evaluation.save_logits for m in members.values())
    assert {name: e.method for name, e in config.ensembles.items()} == {
        "pawsx-prob": "prob",
        "pawsx-weighted": "weighted",
        "udpos-prob": "prob",
        "xquad-logit": "logit",
        "tatoeba-mean": "logit",
    }
    for ensemble in config.ensembles.values():
        assert len({members[m].task.name for m in ensemble.members}) == 1
