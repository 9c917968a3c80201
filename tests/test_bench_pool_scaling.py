"""bench/pool_scaling.py --parts: the parts not measured are kept from the record, with the run that measured them."""

from __future__ import annotations

import argparse
import json

import pytest


@pytest.fixture(scope="module")
def pool_scaling(bench_import):
    return bench_import("pool_scaling")


def _record(pool_scaling) -> dict:
    parts = {
        name: {
            "body": f"**{name}** old",
            "summary": [{"figure": f"9 {name}", "target": "t", "measured": "m", "status": "s"}],
        }
        for name in pool_scaling.PARTS
    }
    machine = {"gpu": "", "nproc": 2, "cpu": "Xeon", "date": "2026-12-07 07:33 UTC"}
    return {
        "key": "pool-scaling",
        "command": "python bench/pool_scaling.py",
        "machine": machine,
        "load_before": "5.00 5.00 5.00",
        "load_after": "4.00 4.00 4.00",
        "parts": parts,
    }


def test_parts_not_measured_are_kept_with_their_run(pool_scaling, tmp_path):
    (tmp_path / "pool-scaling.json").write_text(json.dumps(_record(pool_scaling)))
    args = argparse.Namespace(quick=False, results=tmp_path)
    kept = pool_scaling.kept_parts(args, {"memory"})
    assert sorted(kept) == sorted(set(pool_scaling.PARTS) - {"memory"})
    new = {
        "body": "**memory** new",
        "summary": [{"figure": "9 memory", "target": "t", "measured": "new", "status": "s"}],
    }
    body, rows = pool_scaling.assemble({**kept, "memory": new})
    assert "**memory** new" in body and "**memory** old" not in body and "**search** old" in body
    assert body.count("from an earlier run: `python bench/pool_scaling.py`") == len(pool_scaling.PARTS) - 1
    assert [row["figure"] for row in rows] == [f"9 {name}" for name in pool_scaling.PARTS]
    assert "run" not in rows[pool_scaling.PARTS.index("memory")]
    assert all(row["run"]["load_before"] == "5.00 5.00 5.00" for row in rows if row["figure"] != "9 memory")


def test_a_record_without_the_other_parts_is_refused(pool_scaling, tmp_path):
    record = _record(pool_scaling)
    del record["parts"]["search"]
    (tmp_path / "pool-scaling.json").write_text(json.dumps(record))
    with pytest.raises(SystemExit, match="no record of the parts search"):
        pool_scaling.kept_parts(argparse.Namespace(quick=False, results=tmp_path), {"memory"})


def test_parts_option_rejects_unknown_names(pool_scaling):
    assert pool_scaling._parts("memory,search") == ["memory", "search"]
    with pytest.raises(argparse.ArgumentTypeError):
        pool_scaling._parts("memroy")


def test_memory_part_reports_growth_after_the_second_chunk(pool_scaling):
    def run(before, peaks):
        return {
            "seconds": 1.0,
            "peak_rss_mib": max(peaks),
            "before_mib": before,
            "vectors_mib": 1.0,
            "chunk_peaks_mib": peaks,
        }

    encoding = {
        10_000: [run(100.0, [130.0, 135.0])] * 3,
        100_000: [
            run(100.0, [130.0, 150.0, 152.0, 156.0]),
            run(100.0, [131.0, 149.0, 149.0, 149.0]),
            run(100.0, [129.0, 151.0, 153.0, 153.0]),
        ],
    }
    assert pool_scaling.later_chunk_growth(encoding[100_000]) == [6.0, 0.0, 2.0]
    assert pool_scaling.later_chunk_growth(encoding[10_000]) is None  # two chunks: no later growth to show
    part = pool_scaling.memory_part(encoding)
    ratio_row, growth_row = part["summary"]
    # working memory: 10k 34 MiB; 100k 55, 48, 52 -> ratios 1.62, 1.41, 1.53
    assert ratio_row["measured"].startswith("**1.53x**") and ratio_row["status"] == "NOT met"
    assert growth_row["measured"] == "**+2 MiB** (+6, +0, +2) over 2 chunks"
    assert "grew by 2 (6, 0, 2) MiB" in part["body"]
