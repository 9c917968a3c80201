"""A study's Markdown (study.md): means with 95% intervals, differences with Holm marks, and what is significant.

``python -m crossling.reports.study_markdown STUDY_DIR [--readme FILE]`` prints it from
``STUDY_DIR/study.json`` and, with ``--readme``, replaces the block between
``<!-- study-table:begin -->`` and ``<!-- study-table:end -->`` of FILE with it (how the
README's demo table is regenerated; numbers are never edited by hand). ``--block NAME`` picks a
named block (``<!-- study-table:NAME:begin -->``), as in ``docs/research-questions.md``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crossling.utils.io import atomic_write_text, read_json

BEGIN, END = "<!-- study-table:begin -->", "<!-- study-table:end -->"
AVERAGE_TITLES = {"english": "English", "transfer": "avg transfer", "overall": "avg all"}


def _columns(study: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(languages, averages) in the order of the baseline's entries."""
    first = study["systems"][study["baseline"]]
    return list(first["languages"]), list(first["averages"])


def _cell(entry: Mapping[str, Any], *, signed: bool = False) -> str:
    value = entry["diff"] if signed else entry["mean"]
    fmt = "{:+.1f}" if signed else "{:.1f}"
    mark = "*" if signed and entry["significant"] else ""
    return f"{fmt.format(value)} [{entry['low']:.1f}, {entry['high']:.1f}]{mark}"


def _table(
    rows: Mapping[str, Mapping[str, Any]], languages: Sequence[str], averages: Sequence[str], *, signed: bool
) -> list[str]:
    header = ["system", *languages, *(AVERAGE_TITLES[a] for a in averages)]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for name, row in rows.items():
        cells = [_cell(row["languages"][lang], signed=signed) for lang in languages]
        cells += [_cell(row["averages"][a], signed=signed) for a in averages]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _verdict(name: str, baseline: str, comparison: Mapping[str, Any]) -> str:
    """One sentence per system: where it is significantly above / below the baseline, where not."""
    languages = comparison["languages"]
    higher = [lang for lang, c in languages.items() if c["significant"] and c["diff"] > 0]
    lower = [lang for lang, c in languages.items() if c["significant"] and c["diff"] < 0]
    neither = [lang for lang in languages if lang not in higher and lang not in lower]
    parts = []
    if higher:
        parts.append(f"significantly higher in {', '.join(higher)}")
    if lower:
        parts.append(f"significantly lower in {', '.join(lower)}")
    parts.append(f"no significant difference in {', '.join(neither)}" if neither else "significant in every language")
    averages = []
    for key, entry in comparison["averages"].items():
        verdict = "significant" if entry["significant"] else "not significant"
        averages.append(
            f"{AVERAGE_TITLES[key]} {entry['diff']:+.1f} [{entry['low']:.1f}, {entry['high']:.1f}] "
            f"({verdict}, Holm p = {entry['p_holm']:.3g})"
        )
    return f"- **{name}** vs {baseline}: " + "; ".join(parts) + ". " + "; ".join(averages) + "."


def study_markdown(study: Mapping[str, Any], *, heading_level: int = 2) -> str:
    """The Markdown of a ``crossling.study/1`` document: two tables, the verdicts and the method."""
    languages, averages = _columns(study)
    seeds = study["seeds"]
    hashes = "#" * heading_level
    lines = [
        f"{hashes} {study['metric']}: mean over {len(seeds)} seeds ({', '.join(map(str, seeds))}) [95% interval]",
        "",
        *_table(study["systems"], languages, averages, signed=False),
        "",
    ]
    if study["comparisons"]:
        lines += [
            f"{hashes} Difference from {study['baseline']} [95% interval]; * = significant "
            "(paired hierarchical-bootstrap test over seeds and examples, Holm-corrected across languages, p < 0.05)",
            "",
            *_table(study["comparisons"], languages, averages, signed=True),
            "",
        ]
        lines += [_verdict(name, study["baseline"], c) for name, c in study["comparisons"].items()]
        lines.append("")
    lines += [f"Method: {study['method']}", ""]
    return "\n".join(lines)


def write_study_markdown(study: Mapping[str, Any], directory: Path) -> Path:
    """Write ``directory/study.md``; returns its path."""
    path = directory / "study.md"
    atomic_write_text(path, study_markdown(study))
    return path


def markers(name: str | None = None) -> tuple[str, str]:
    """The begin/end markers of a study-table block: ``BEGIN``/``END``, or ``<!-- study-table:NAME:begin -->`` ..."""
    if name is None:
        return BEGIN, END
    return f"<!-- study-table:{name}:begin -->", f"<!-- study-table:{name}:end -->"


def replace_block(text: str, block: str, *, source: str = "file", name: str | None = None) -> str:
    """``text`` with the part between the markers of block ``name`` replaced by ``block``.

    ValueError if the markers are missing (a document may hold several named blocks).
    """
    begin, end_marker = markers(name)
    start, end = text.find(begin), text.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(f"{source}: no {begin} ... {end_marker} block to replace")
    return text[: start + len(begin)] + "\n" + block.rstrip("\n") + "\n" + text[end:]


def update_block(path: Path, markdown: str, name: str | None) -> None:
    """Rewrite ``path`` (atomically) with its block ``name`` replaced by ``markdown``."""
    atomic_write_text(path, replace_block(path.read_text(), markdown, source=str(path), name=name))


def main(argv: Sequence[str] | None = None) -> None:
    """Print a study's Markdown; with ``--readme FILE`` also put it between FILE's study-table markers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study_dir", type=Path, help="directory holding study.json")
    parser.add_argument("--readme", type=Path, help="file whose study-table block is regenerated")
    parser.add_argument("--block", help="name of the block in FILE (<!-- study-table:NAME:begin -->); default unnamed")
    args = parser.parse_args(argv)
    markdown = study_markdown(read_json(args.study_dir / "study.json"), heading_level=4)
    print(markdown)
    if args.readme:
        update_block(args.readme, markdown, args.block)


if __name__ == "__main__":
    main()
