"""Markdown of ensembles beside their members (results.json ``comparison``), for docs blocks: ``python -m crossling.reports.ensemble_markdown``."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crossling.analysis.stats import holm
from crossling.reports.study_markdown import update_block
from crossling.utils.io import read_json

ALPHA = 0.05

METHOD = (
    "Method: one seed, so the 95% intervals are percentiles of a paired bootstrap over the test examples "
    "only (2,000 replicates, the same draws for the ensemble and every member); ensemble - best is the paired "
    "difference from the member with the higher metric in that language, its p the percentile-bootstrap "
    "test of the same replicates, Holm-corrected across the ensemble's languages; * = p_holm < 0.05. The "
    "oracle takes, per example, the member output that maximises the metric. A significant mark says that "
    "these trained models differ on these test examples, not that the methods would across seeds."
)


def _interval(entry: Mapping[str, Any], *, signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"{entry['value']:{sign}.1f} [{entry['low']:.1f}, {entry['high']:.1f}]"


def _verdict(name: str, languages: Sequence[str], gains: Sequence[Mapping[str, Any]], p_holm: Sequence[float]) -> str:
    """One sentence: where the ensemble is significantly above or below its best member."""
    above = [lang for lang, g, p in zip(languages, gains, p_holm, strict=True) if p < ALPHA and g["value"] > 0]
    below = [lang for lang, g, p in zip(languages, gains, p_holm, strict=True) if p < ALPHA and g["value"] < 0]
    parts = []
    if above:
        parts.append(f"significantly above its best member in {', '.join(above)}")
    if below:
        parts.append(f"significantly below its best member in {', '.join(below)}")
    rest = len(languages) - len(above) - len(below)
    parts.append(f"no significant difference in {rest} language(s)" if parts else "no significant difference")
    return f"- **{name}**: " + "; ".join(parts) + "."


def ensemble_markdown(result: Mapping[str, Any]) -> str:
    """One ensemble's table: per language the ensemble, best, mean member, oracle and ensemble - best."""
    comparison = result.get("comparison")
    if not comparison:
        raise ValueError(f"{result.get('name')}: results.json has no ensemble comparison (not an ensemble run?)")
    languages = list(comparison)
    gains = [comparison[lang]["ensemble_minus_best"] for lang in languages]
    p_holm = list(holm([g["p"] for g in gains]))
    method = result["ensemble"]["method"]
    lines = [
        f"#### {result['name']} ({method} of {len(result['members'])} members), {result['task']} {result['metric']}",
        "",
        "| language | ensemble | best member | mean member | oracle | ensemble - best |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for lang, gain, p in zip(languages, gains, p_holm, strict=True):
        row = comparison[lang]
        mark = "*" if p < ALPHA else ""
        best = row["best_member"]
        lines.append(
            f"| {lang} | {_interval(row['ensemble'])} | {_interval(best)} ({best['run']}) | "
            f"{_interval(row['mean_member'])} | {_interval(row['oracle'])} | {_interval(gain, signed=True)}{mark} |"
        )
    lines += ["", _verdict(result["name"], languages, gains, p_holm), ""]
    return "\n".join(lines)


def ensembles_markdown(results: Sequence[Mapping[str, Any]]) -> str:
    """Every ensemble's table, then the method paragraph."""
    return "\n".join(ensemble_markdown(r) for r in results) + "\n" + METHOD + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    """Print the ensembles' Markdown; with ``--readme FILE --block NAME`` also put it in FILE's block."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ensemble_dirs", type=Path, nargs="+", help="ensemble run directories (results.json)")
    parser.add_argument("--readme", type=Path, help="file whose study-table block is regenerated")
    parser.add_argument("--block", help="name of the block in FILE (<!-- study-table:NAME:begin -->); default unnamed")
    args = parser.parse_args(argv)
    markdown = ensembles_markdown([read_json(d / "results.json") for d in args.ensemble_dirs])
    print(markdown)
    if args.readme:
        update_block(args.readme, markdown, args.block)


if __name__ == "__main__":
    main()
