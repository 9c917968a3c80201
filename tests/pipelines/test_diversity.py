"""The diversity axis: systems k=<k>,subset=<j> with mixtures of k pool tasks, reproducible subsets, equal budgets."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest

from crossling.config import build_config
from crossling.pipelines.diversity import DIVERSITY_FILE, draw_subsets
from crossling.pipelines.sweep import expand, run_sweep, systems

REPO_ROOT = Path(__file__).resolve().parents[2]
POOL = [{"name": name} for name in ("tmpl-nli", "tmpl-paws", "tmpl-pos", "tmpl-ner", "tmpl-qa")]


def _config(tmp_path, **diversity):
    return build_config(
        {
            "name": "div",
            "output_dir": str(tmp_path),
            "task": {"name": "tmpl-nli"},
            "diversity": {
                "pool": POOL,
                "k": [1, 2, 4],
                "subsets": 3,
                "seed": 0,
                "max_steps": 40,
                "training": {"batch_size": 8},
                **diversity,
            },
        }
    )


def test_each_k_gets_its_subsets_with_the_same_budget(tmp_path):
    members = {member.name: member for member in expand(_config(tmp_path))}
    assert sorted(members) == sorted(f"k={k},subset={j}" for k in (1, 2, 4) for j in (1, 2, 3))
    for name, member in members.items():
        (stage,) = member.intermediate
        k = int(name.split(",")[0].removeprefix("k="))
        tasks = [m.task.name for m in stage.mixture]
        assert len(tasks) == k == len(set(tasks))
        # Equal budget: the same steps of the same batch size, whatever k.
        assert (stage.max_steps, stage.training.batch_size) == (40, 8)
        assert not member.diversity.enabled and member.output_dir == tmp_path / "div"


def test_subsets_are_reproducible_distinct_and_change_with_the_seed():
    first = draw_subsets(5, 2, 3, seed=0)
    assert first == draw_subsets(5, 2, 3, seed=0)
    assert len(set(first)) == 3 and all(len(s) == 2 and s[0] < s[1] for s in first)
    draws = {tuple(draw_subsets(5, 2, 3, seed=s)) for s in range(10)}
    assert len(draws) > 1


def test_all_subsets_are_used_when_there_are_fewer_than_asked():
    assert draw_subsets(5, 4, 10, seed=0) == list(itertools.combinations(range(5), 4))
    assert len(draw_subsets(5, 4, 10, seed=0)) == math.comb(5, 4)
    assert draw_subsets(3, 3, 3, seed=1) == [(0, 1, 2)]


def test_the_drawn_subsets_are_recorded_in_the_study_directory(tmp_path):
    config = _config(tmp_path, k=[1, 2], subsets=2)
    run_sweep(config, run=lambda member: {"name": member.name})
    record = json.loads((tmp_path / "div" / DIVERSITY_FILE).read_text())
    expected = {m.name: [t.task.name for t in m.intermediate[0].mixture] for m in expand(config)}
    assert {name: entry["tasks"] for name, entry in record["systems"].items()} == expected
    assert record["seed"] == 0 and record["max_steps"] == 40 and record["rows_per_system"] == 320
    assert {entry["k"] for entry in record["systems"].values()} == {1, 2}


def test_a_variant_baseline_and_seeds_combine_with_the_axis(tmp_path):
    config = build_config(
        {
            "name": "div",
            "output_dir": str(tmp_path),
            "seeds": [1, 2],
            "variants": {"none": {}},
            "diversity": {"pool": POOL[:3], "k": [1, 3], "max_steps": 10},
        }
    )
    by_system = systems(config)
    assert list(by_system) == ["none", "k=1,subset=1", "k=1,subset=2", "k=1,subset=3", "k=3,subset=1"]
    assert by_system["none"][1].intermediate == ()
    assert sorted(by_system["k=3,subset=1"]) == [1, 2]


@pytest.mark.parametrize("k", [[0], [6], [2, 2]])
def test_impossible_sizes_are_config_errors(tmp_path, k):
    from crossling.errors import ConfigError

    with pytest.raises(ConfigError, match=r"diversity\.k"):
        _config(tmp_path, k=k)


def test_the_rq5_example_plans_on_the_shared_data_with_one_budget_for_every_k(shared_data, tmp_path):
    from tiny import make_tiny_model_dir

    from crossling.config import load_config
    from crossling.pipelines.plan import plan_study

    if shared_data.resolve() != (REPO_ROOT.parent / "shared" / "data").resolve():
        pytest.skip("the example names ../shared/data beside the clone; CROSSLING_SHARED_DATA points elsewhere")
    # A tiny model: the plan's structure and step counts do not depend on the encoder.
    model = make_tiny_model_dir(tmp_path / "model", ["the cat sees a dog", "der hund"] * 5)
    config = load_config(
        REPO_ROOT / "examples" / "rq5-diversity.yaml",
        [f"model.name_or_path={model}", f"output_dir={tmp_path / 'runs'}"],
    )
    plan = plan_study(config)
    names = [run.name for run in plan.runs]
    assert names[0] == "none,seed=13" and len(names) == 7
    for run in plan.runs[1:]:
        mixture, target = run.stages
        k = int(run.name.split(",")[0].removeprefix("k="))
        assert len(mixture.task.split("+")) == k and mixture.steps == 150
        assert target.task == "mlqa" and run.eval_examples == plan.runs[0].eval_examples
    assert sum(plan.runs[0].eval_examples.values()) == 7 * 150
