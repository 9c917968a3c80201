"""A self-contained HTML report: the answer first (significant differences), tables with intervals, embedded charts.

The statistics come from ``study.json`` (schema ``crossling.study/1``, written by a study);
this module only renders them. Without one, the runs are shown as they are, one seed, no interval.
Images are PNGs embedded as base64 ``data:`` URIs, so the file needs nothing beside it and runs no script.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crossling.reports.diversity import diversity_points_of
from crossling.reports.plots import dev_curves_png, diversity_png, interval_bars_png
from crossling.reports.tables import comparison_rows
from crossling.utils.io import atomic_write_text

STUDY_SCHEMA = "crossling.study/1"
_AVERAGES = ("english", "transfer", "overall")
_STYLE = """body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #ccc;padding:.25rem .5rem}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.sig td{background:#eef7ee}
.answer{background:#f4f6fb;border-left:4px solid #4a6fa5;padding:.5rem 1rem}img{max-width:100%}"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _interval(cell: Mapping[str, Any]) -> str:
    """``mean [low, high]``, or ``+diff [low, high]`` (signed) for a comparison."""
    point = _num(cell["mean"]) if "mean" in cell else _signed(cell["diff"])
    return f"{point} [{_num(cell.get('low'))}, {_num(cell.get('high'))}]"


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, caption: str = "", marked: Sequence[bool] | None = None
) -> str:
    """An HTML table; the first column is a label, the others right-aligned; ``marked`` rows are highlighted."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = "".join(f"<td>{_e(c)}</td>" if j == 0 else f'<td class="num">{_e(c)}</td>' for j, c in enumerate(row))
        body.append(f'<tr class="sig">{cells}</tr>' if marked and marked[i] else f"<tr>{cells}</tr>")
    title = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _image(png: bytes, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _signed(value: float) -> str:
    return f"{value:+.1f}"


def answer_sentences(study: Mapping[str, Any]) -> list[str]:
    """One sentence per compared system: where it differs significantly from the baseline (Holm-corrected), by how much."""
    baseline = study["baseline"]
    sentences = []
    for system, comparison in study["comparisons"].items():
        significant = [(lang, c) for lang, c in comparison["languages"].items() if c["significant"]]
        averages = [(name, c) for name, c in comparison.get("averages", {}).items() if c["significant"]]
        if not significant and not averages:
            sentences.append(
                f"{system} does not differ significantly from {baseline} in any language "
                "or average (95% level, Holm-corrected)."
            )
            continue
        where = [
            f"{lang} ({_signed(c['diff'])} [{_num(c['low'])}, {_num(c['high'])}], p_holm={c['p_holm']:.3g})"
            for lang, c in significant
        ]
        where += [
            f"the {name} average ({_signed(c['diff'])} [{_num(c['low'])}, {_num(c['high'])}])" for name, c in averages
        ]
        others = len(comparison["languages"]) - len(significant)
        sentences.append(
            f"{system} differs significantly from {baseline} in {', '.join(where)}; "
            f"not significantly in the other {others} language(s)."
        )
    return sentences


def _study_sections(study: Mapping[str, Any]) -> list[str]:
    """The answer, the method, the per-language tables with intervals, the comparisons and the whisker chart."""
    metric, systems = study["metric"], study["systems"]
    seeds = ", ".join(str(s) for s in study["seeds"])
    parts = [
        '<section class="answer"><h2>Answer</h2><ul>'
        + "".join(f"<li>{_e(s)}</li>" for s in answer_sentences(study))
        + "</ul>"
        f"<p>{_e(metric)}, mean over seeds {_e(seeds)} with 95% intervals; baseline {_e(study['baseline'])}.</p></section>",
        f"<h2>Method</h2><p>{_e(study['method'])}</p>",
    ]
    languages = list(dict.fromkeys(lang for s in systems.values() for lang in s["languages"]))
    names = list(systems)
    rows = [
        [lang, *(_interval(systems[s]["languages"][lang]) if lang in systems[s]["languages"] else "-" for s in names)]
        for lang in languages
    ]
    rows += [
        [
            f"avg ({avg})",
            *(_interval(systems[s]["averages"][avg]) if avg in systems[s].get("averages", {}) else "-" for s in names),
        ]
        for avg in _AVERAGES
    ]
    parts += ["<h2>Per language</h2>", _table(["language", *names], rows, caption=f"{metric}: mean [95% interval]")]
    for system, comparison in study["comparisons"].items():
        cells = [
            *comparison["languages"].items(),
            *((f"avg ({k})", v) for k, v in comparison.get("averages", {}).items()),
        ]
        parts.append(
            _table(
                ["language", "difference [95% interval]", "p", "p (Holm)", "significant"],
                [
                    [
                        lang,
                        _interval(c),
                        f"{c['p']:.3g}",
                        f"{c.get('p_holm', c['p']):.3g}",
                        "yes" if c["significant"] else "no",
                    ]
                    for lang, c in cells
                ],
                caption=f"{system} minus {study['baseline']}",
                marked=[c["significant"] for _, c in cells],
            )
        )
    values = {s: {lang: (c["mean"], c["low"], c["high"]) for lang, c in systems[s]["languages"].items()} for s in names}
    parts.append(
        _image(
            interval_bars_png(values, metric=metric, title=f"{metric} per language (95% intervals)"),
            f"per-language {metric} with 95% interval whiskers",
        )
    )
    return parts


def _runs_sections(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Without a study: per metric, the runs' table and bars, marked as one seed without an interval.

    Runs of different task kinds (RQ4: accuracy, F1, retrieval accuracy) get one table each: a
    score is only comparable with scores of its own metric.
    """
    by_metric: dict[str, dict[str, Mapping[str, Any]]] = {}
    for label, result in results.items():
        by_metric.setdefault(result["metric"], {})[label] = result
    parts = [
        '<section class="answer"><h2>Answer</h2><p>One seed, no interval: these runs are single training runs, '
        "so no difference below is tested for significance. Run a study (<code>seeds:</code>) for intervals."
        "</p></section>",
        "<h2>Per language</h2>",
    ]
    for metric, runs in by_metric.items():
        header, rows = comparison_rows(runs)
        values = {
            label: {lang: (scores[metric], None, None) for lang, scores in r["languages"].items()}
            for label, r in runs.items()
        }
        parts += [
            _table(header, rows, caption=f"{metric} (one seed, no interval)"),
            _image(
                interval_bars_png(values, metric=metric, title=f"{metric} per language (one seed)"),
                f"per-language {metric}",
            ),
        ]
    return parts


def dev_curves(results: Mapping[str, Mapping[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    """``{run (target task): [(epoch, dev score), ...]}`` from each run's ``stages`` (``dev_history`` = [step, epoch, score])."""
    curves = {}
    for label, result in results.items():
        for stage in result.get("stages", []):
            points = [(float(epoch), float(value)) for _, epoch, value in stage.get("dev_history", [])]
            if points:
                curves[f"{label} ({stage['task']})"] = points
    return curves


def _diversity_sections(directory: Path, study: Mapping[str, Any] | None) -> list[str]:
    """For a study with a diversity axis (``diversity.json``): the transfer average per system against k."""
    points = diversity_points_of(directory, study)
    if not points:
        return []
    rows = [[str(k), system, _interval({"mean": m, "low": lo, "high": hi})] for k, system, m, lo, hi in points]
    metric = study["metric"]  # type: ignore[index]
    return [
        "<h2>Task diversity</h2>",
        _table(["k", "system", "transfer average"], rows, caption=f"{metric}: mean [95% interval], equal budgets"),
        _image(diversity_png(points, metric=metric), f"{metric} against the number of intermediate tasks"),
    ]


def write_html_report(
    results: Mapping[str, Mapping[str, Any]], directory: Path, *, title: str, study: Mapping[str, Any] | None = None
) -> Path:
    """Write ``directory/report.html``: answer, tables, whisker chart (from ``study`` where given), the metric
    against k for a diversity axis, dev curves."""
    first = next(iter(results.values()))
    parts = [
        f"<h1>{_e(title)}</h1>",
        f"<p>Task <code>{_e(first['task'])}</code>, model <code>{_e(first['model'])}</code>, trained on "
        f"{_e(', '.join(first['train_languages']))}, scored on the {_e(first['eval_split'])} split.</p>",
    ]
    parts += _study_sections(study) if study else _runs_sections(results)
    parts += _diversity_sections(directory, study)
    curves = dev_curves(results)
    if curves:
        parts += [
            "<h2>Dev curves</h2>",
            _image(dev_curves_png(curves, metric=first["metric"], title="dev score after each epoch"), "dev curves"),
        ]
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>\n"
    )
    path = directory / "report.html"
    atomic_write_text(path, page)
    return path
