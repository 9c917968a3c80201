"""BENCHMARKS.md is exactly what bench/records.py renders from the committed records (no benchmark runs here)."""

from __future__ import annotations

import copy
import difflib
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"


@pytest.fixture(scope="module")
def records(bench_import):
    return bench_import("records")


def test_the_committed_benchmarks_md_is_the_render_of_the_committed_records(records):
    committed = (REPO / "BENCHMARKS.md").read_text(encoding="utf-8")
    rendered = records.render_directory(BENCH / "results", BENCH / "notes.md")
    diff = "".join(difflib.unified_diff(committed.splitlines(True), rendered.splitlines(True), "committed", "render"))
    assert committed == rendered, f"BENCHMARKS.md differs from `python bench/records.py`:\n{diff[:3000]}"


def test_every_full_size_figure_has_its_summary_rows_and_load_note(records):
    loaded = records.load_records(BENCH / "results")
    summary = records.render(loaded).split("## Summary", 1)[1].split("\n## ", 1)[0]
    for record in loaded:
        if record["key"].endswith("-quick"):
            continue
        body, rows = records.rendered(record)
        assert body.strip(), record["key"]
        for row in rows:
            line = next(line for line in summary.splitlines() if line.startswith(f"| {row['figure']} |"))
            assert line.rstrip(" |").endswith(records.load_note(row.get("run") or record)), line


def test_a_changed_record_changes_the_summary_and_the_load_note_follows_the_load(records):
    loaded = records.load_records(BENCH / "results")
    record = copy.deepcopy(next(r for r in loaded if r.get("summary")))
    record["summary"][0]["measured"] = "**9.99x** (changed)"
    record["load_before"], record["machine"]["nproc"] = "5.00 4.00 3.00", 2
    text = records.render([record])
    assert "**9.99x** (changed)" in text.split("## Summary", 1)[1].split("\n## ", 1)[0]
    assert "shared with other work" in text
    record["load_before"] = "0.20 0.30 0.40"
    assert "(idle machine)." in records.render([record])


def test_figures_with_raw_records_are_rendered_from_them(records):
    checked = 0
    for path in sorted((BENCH / "results").glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record["key"].removesuffix("-quick") not in records.RENDERERS:
            continue
        assert "raw" in record, f"{path.name}: figures 3 and 4 record their raw measurements"
        checked += 1
        body, rows = records.rendered(record)
        assert rows and all(row["target"] and row["measured"] for row in rows)
        if not record["key"].endswith("-quick"):
            assert all(row["figure"] in records.render([record]) for row in rows)
        first = next(iter(record["raw"]["runs"].values()))[0]
        first["seconds"] *= 2  # a slower first run changes the rendered figure
        assert records.rendered(record)[0] != body
    assert checked >= 2
