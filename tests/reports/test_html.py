"""report.html: the answer first, tables with intervals, embedded charts; rendered in headless Chromium."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from report_fixtures import write_run
from typer.testing import CliRunner

from crossling.cli.main import app
from crossling.reports.html import answer_sentences

runner = CliRunner()
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=5000",
    "--dump-dom",
]


def _cell(mean, low, high, n=3):
    return {"mean": mean, "low": low, "high": high, "n_seeds": n}


def _diff(diff, low, high, p, p_holm, significant):
    return {"diff": diff, "low": low, "high": high, "p": p, "p_holm": p_holm, "significant": significant}


STUDY = {
    "schema": "crossling.study/1",
    "metric": "accuracy",
    "baseline": "last",
    "seeds": [1, 2, 3],
    "method": "Hierarchical bootstrap over seeds and test examples (fixture paragraph).",
    "systems": {
        "last": {
            "languages": {"en": _cell(92.0, 90.1, 93.9), "de": _cell(62.0, 58.4, 65.6), "sw": _cell(41.0, 37.0, 45.0)},
            "averages": {
                "english": _cell(92.0, 90.1, 93.9),
                "transfer": _cell(51.5, 48.0, 55.0),
                "overall": _cell(65.0, 62.0, 68.0),
            },
        },
        "dlfa": {
            "languages": {"en": _cell(93.0, 91.2, 94.8), "de": _cell(72.0, 68.3, 75.7), "sw": _cell(43.0, 38.9, 47.1)},
            "averages": {
                "english": _cell(93.0, 91.2, 94.8),
                "transfer": _cell(57.5, 54.0, 61.0),
                "overall": _cell(69.3, 66.0, 72.6),
            },
        },
    },
    "comparisons": {
        "dlfa": {
            "languages": {
                "en": _diff(1.0, -1.5, 3.5, 0.41, 0.82, False),
                "de": _diff(10.0, 6.2, 13.8, 0.0004, 0.0012, True),
                "sw": _diff(2.0, -3.1, 7.1, 0.45, 0.82, False),
            },
            "averages": {
                "english": _diff(1.0, -1.5, 3.5, 0.41, 0.41, False),
                "transfer": _diff(6.0, 3.1, 8.9, 0.002, 0.002, True),
                "overall": _diff(4.3, 2.0, 6.6, 0.004, 0.004, True),
            },
        }
    },
}


def _study_dir(root: Path, *, with_study: bool) -> Path:
    members = {}
    for system, (en, de, sw) in {"last": (92.0, 62.0, 41.0), "dlfa": (93.0, 72.0, 43.0)}.items():
        name = f"{system},seed=1"
        write_run(root / name, name, {"en": en, "de": de, "sw": sw}, dev_curve=(55.0, 80.0, 90.0))
        members[name] = str(root / name / "results.json")
    (root / "sweep.json").write_text(json.dumps({"name": "study", "members": members}))
    if with_study:
        (root / "study.json").write_text(json.dumps(STUDY))
    return root


def test_the_answer_names_where_a_system_differs_significantly_and_by_how_much():
    [sentence] = answer_sentences(STUDY)
    assert sentence.startswith("dlfa differs significantly from last in de (+10.0 [6.2, 13.8], p_holm=0.0012)")
    assert (
        "the transfer average (+6.0 [3.1, 8.9])" in sentence
        and "not significantly in the other 2 language(s)" in sentence
    )


def test_report_html_shows_the_answer_first_then_intervals_and_embedded_charts(tmp_path):
    study = _study_dir(tmp_path, with_study=True)
    result = runner.invoke(app, ["report", str(study)])
    assert result.exit_code == 0, result.output
    page = (study / "report.html").read_text()
    assert page.index("Answer") < page.index("Per language") < page.index("Dev curves")
    assert "72.0 [68.3, 75.7]" in page and "+10.0" not in page.split("Per language")[1].split("minus")[0]
    assert "+10.0 [6.2, 13.8]" in page and "+1.0 [-1.5, 3.5]" in page and "Hierarchical bootstrap" in page
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 2
    assert "report.html" in (study / "report.md").read_text()


def test_without_a_study_the_html_report_says_one_seed_no_interval(tmp_path):
    study = _study_dir(tmp_path, with_study=False)
    assert runner.invoke(app, ["report", str(study)]).exit_code == 0
    page = (study / "report.html").read_text()
    assert (
        "One seed, no interval" in page and "72.0" in page and "[" not in page.split("Per language")[1].split("<img")[0]
    )


def test_runs_of_several_metrics_get_one_table_and_chart_each(tmp_path):
    # RQ4's runs: PAWS-X accuracy beside UD-POS and PAN-X F1 (the report used to stop with KeyError: 'accuracy').
    members = {}
    for name, metric, scores in (
        ("pawsx-direct", "accuracy", {"en": 81.0, "de": 70.0}),
        ("panx-direct", "f1", {"en": 74.0, "de": 61.5}),
    ):
        write_run(tmp_path / name, name, scores, metric=metric)
        members[name] = str(tmp_path / name / "results.json")
    (tmp_path / "sweep.json").write_text(json.dumps({"name": "mixed", "members": members}))
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report.html").read_text()
    assert "accuracy (one seed, no interval)" in page and "f1 (one seed, no interval)" in page
    assert "61.5" in page and "70.0" in page
    assert len(re.findall(r'src="data:image/png;base64,', page)) >= 2


def test_a_study_json_of_another_schema_is_a_one_line_error(tmp_path):
    study = _study_dir(tmp_path, with_study=False)
    (study / "study.json").write_text(json.dumps({"schema": "other/9"}))
    result = runner.invoke(app, ["report", str(study)])
    assert result.exit_code == 2 and "expected 'crossling.study/1'" in result.output


def _chromium() -> str:
    """The chromium binary; installed with apt-get where missing and allowed (root), else the test is skipped."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and this user cannot apt-get install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, check=False)
        if done.returncode != 0:
            pytest.skip(f"apt-get could not install chromium: {done.stderr.strip().splitlines()[-1:]}")
    return shutil.which("chromium") or pytest.skip("apt-get installed chromium but it is not on PATH")


def _render(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM after load, and the console messages Chromium logged while loading ``page``."""
    done = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


_PROBE = """<script>window.addEventListener("load", () => document.body.setAttribute("data-images",
  [...document.images].map(i => i.complete && i.naturalWidth > 0 ? i.naturalWidth + "x" + i.naturalHeight : "broken").join(" ")));
</script></body>"""


def test_report_html_renders_in_headless_chromium_with_tables_numbers_images_and_no_console_errors(tmp_path):
    study = _study_dir(tmp_path / "study", with_study=True)
    assert runner.invoke(app, ["report", str(study)]).exit_code == 0
    dom, console = _render(study / "report.html", tmp_path / "profile-1")
    assert console == []
    assert dom.count("<table>") == 2 and "72.0 [68.3, 75.7]" in dom and "p (Holm)" in dom
    assert "dlfa differs significantly from last in de" in dom
    for encoded in re.findall(r'src="data:image/png;base64,([^"]+)"', dom):
        image = Image.open(io.BytesIO(base64.b64decode(encoded)))
        assert image.width > 100 and image.height > 100
    # The browser decoded every image: a probe script in a copy of the page reports their sizes.
    probed = study / "probed.html"
    probed.write_text((study / "report.html").read_text().replace("</body>", _PROBE))
    dom, _ = _render(probed, tmp_path / "profile-2")
    sizes = re.search(r'data-images="([^"]*)"', dom).group(1).split()
    assert len(sizes) == 2 and "broken" not in sizes


def test_the_console_check_catches_a_page_with_a_script_error(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><script>notDefined();</script></body></html>")
    _, console = _render(page, tmp_path / "profile")
    assert any("notDefined is not defined" in line for line in console)
