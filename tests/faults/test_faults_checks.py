"""Checks before training, through the installed console script: each problem one `error:` line, before the first step."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from faultkit import assert_one_line_stderr, crossling


def _run(config: Path, *args: str):
    return crossling("run", str(config), "--quiet", *args)


def _untrained(config: Path) -> bool:
    """True if the run never reached a training step (no stage directory, so no checkpoint)."""
    return not (config.parent / "runs" / "fault" / "stages").exists()


def test_a_model_directory_without_tokenizer_files_is_refused(make_config, tiny_model, tmp_path):
    bare = Path(shutil.copytree(tiny_model, tmp_path / "no-tokenizer"))
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        (bare / name).unlink(missing_ok=True)
    config = make_config(model={"name_or_path": str(bare)})
    assert_one_line_stderr(_run(config), f"{bare}: no tokenizer files", "tokenizer.json")
    assert _untrained(config)


def test_a_model_path_that_does_not_exist_says_so(make_config, tmp_path):
    absent = tmp_path / "no" / "such-model"
    error = assert_one_line_stderr(
        _run(make_config(model={"name_or_path": str(absent)})), f"model directory not found: {absent}"
    )
    assert "Repo id" not in error


def test_a_missing_test_file_fails_before_training(make_config, data_copy):
    (data_copy / "test-de.tsv").unlink()
    config = make_config(task={"data_dir": str(data_copy)})
    assert_one_line_stderr(_run(config), "no test file for language 'de'", str(data_copy / "test-de.tsv"))
    assert _untrained(config)


def test_a_bad_label_in_a_test_file_fails_before_training(make_config, data_copy):
    lines = (data_copy / "test-de.tsv").read_text(encoding="utf-8").splitlines()
    lines[9] = "rot katze\tblau hund\t7"
    (data_copy / "test-de.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = make_config(task={"data_dir": str(data_copy)})
    assert_one_line_stderr(_run(config), f"{data_copy / 'test-de.tsv'}:10:", "unknown label '7'")
    assert _untrained(config)


def test_an_empty_test_file_fails_before_training(make_config, data_copy):
    (data_copy / "test-de.tsv").write_text("", encoding="utf-8")
    config = make_config(task={"data_dir": str(data_copy)})
    assert_one_line_stderr(_run(config), str(data_copy / "test-de.tsv"), "expected at least one example")
    assert _untrained(config)


def test_all_languages_by_default_are_checked_against_the_data_directory(make_config, data_copy):
    config = make_config(task={"data_dir": str(data_copy), "eval_languages": []})
    error = assert_one_line_stderr(
        _run(config),
        "task.eval_languages is empty",
        "all 7 languages of pawsx",
        "es, fr, ja, ko, zh",
        "list the languages you have in task.eval_languages",
    )
    assert "de," not in error.split("data for")[1].split("(")[0]  # en and de have test files
    assert _untrained(config)


def test_max_length_beyond_the_position_table_is_refused_before_training(make_config, data_copy):
    # A test sentence longer than the tiny model's 128 positions: without the check, evaluation crashes.
    lines = (data_copy / "test-de.tsv").read_text(encoding="utf-8").splitlines()
    lines[0] = " ".join(["rot katze"] * 150) + "\tblau hund\t0"
    (data_copy / "test-de.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = make_config(task={"data_dir": str(data_copy), "max_length": 512})
    assert_one_line_stderr(
        _run(config),
        "task.max_length: 512 exceeds the model's max_position_embeddings (128)",
        "set task.max_length to at most 128",
    )
    assert _untrained(config)


def test_an_unknown_source_suggests_the_nearest(make_config):
    assert_one_line_stderr(
        _run(make_config(task={"source": "locl"})), "task.source", "no data source 'locl'", "did you mean 'local'?"
    )


def test_a_duplicate_yaml_key_names_the_key_and_its_lines(make_config):
    config = make_config()
    text = config.read_text(encoding="utf-8")
    config.write_text(text + "seed: 7\n", encoding="utf-8")
    line = len(text.splitlines()) + 1
    first = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("seed:"))
    assert_one_line_stderr(_run(config), f"{config}:{line}:", "duplicate key 'seed'", f"first on line {first}")


def test_a_header_row_in_a_tsv_is_named_as_such(make_config, data_copy):
    train = data_copy / "train-en.tsv"
    train.write_text("sentence1\tsentence2\tlabel\n" + train.read_text(encoding="utf-8"), encoding="utf-8")
    assert_one_line_stderr(
        _run(make_config(task={"data_dir": str(data_copy)})),
        f"{train}:1:",
        "looks like a header row",
        "remove the line",
    )


def test_an_unknown_task_is_refused_before_the_offline_encoder_is_converted(make_config, tmp_path):
    home = tmp_path / "home"
    config = make_config(model={"name_or_path": "offline:multilingual-e5-small"}, task={"name": "pawsxx"})
    proc = crossling("run", str(config), "--quiet", env={"CROSSLING_HOME": str(home)})
    assert_one_line_stderr(proc, "unknown task 'pawsxx'", "did you mean pawsx")
    assert not (home / "models").exists()


def test_quiet_silences_info_lines(make_config):
    config = make_config(training={"max_steps": 2})
    quiet = _run(config)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    loud = crossling("run", str(config))  # finished: one INFO line says so
    assert loud.returncode == 0 and "already finished" in loud.stderr


def test_run_output_dir_overrides_the_config(make_config, tmp_path):
    config = make_config(training={"max_steps": 1})
    proc = _run(config, "--output-dir", str(tmp_path / "elsewhere"))
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "elsewhere" / "fault" / "results.json").read_text())
    assert results["languages"]["de"]["count"] == 40
    assert not (tmp_path / "runs").exists()


def test_version_prints_the_installed_version():
    from importlib.metadata import version

    proc = crossling("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"crossling {version('crossling')}"


def test_typology_works_from_the_installed_console_script(tmp_path):
    from importlib import metadata

    try:
        metadata.distribution("lang2vec")
    except metadata.PackageNotFoundError:
        pytest.skip("lang2vec (crossling[typology]) is not installed")
    proc = crossling("typology", "ja", "-c", "ko", "-c", "en", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("│")[1:4] for line in proc.stdout.splitlines() if line.count("│") == 4]
    assert [cells[1].strip() for cells in rows] == ["ko", "en"]  # Korean is nearer to Japanese in syntax


def test_the_manifest_records_the_command_line_and_the_weights_digest(make_config, tiny_model):
    import hashlib

    config = make_config(training={"max_steps": 1})
    proc = _run(config)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((config.parent / "runs" / "fault" / "manifest.json").read_text())
    assert manifest["command"] == ["crossling", "run", str(config), "--quiet"]
    digest = hashlib.sha256((tiny_model / "model.safetensors").read_bytes()).hexdigest()
    assert manifest["model_weights"] == {"model.safetensors": digest}
