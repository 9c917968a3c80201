"""LAReQA-style retrieval (mAP@20) with the offline e5 encoder on ../shared's XQuAD, sentence breaks approximated.

../shared has XQuAD, not XQuAD-R: this script adds sentence breaks by splitting each context
after ``.``, ``!``, ``?`` or ``।`` followed by whitespace and after ``。！？`` (LAReQA's own breaks
differ; Thai paragraphs stay whole), writes the files in XQuAD-R form to a temporary folder and
runs the ``lareqa`` task on them. An approximation of LAReQA, zero-shot (no fine-tuning).

    python bench/lareqa_zero_shot.py [--layer 12] [--scoring cosine]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "xquad"
LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")


def to_xquad_r(source: Path, target: Path) -> int:
    """Write ``source`` (SQuAD JSON) with ``sentences`` / ``sentence_breaks`` added; returns the sentence count."""
    from crossling.data.formats.lareqa import add_sentence_breaks

    document = json.loads(source.read_text(encoding="utf-8"))
    count = add_sentence_breaks(document)
    target.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return count


def main() -> int:
    """Convert, run, print the per-language table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layer", type=int, default=12, help="Encoder layer of the sentence vectors.")
    parser.add_argument("--scoring", default="cosine", choices=("cosine", "margin"))
    parser.add_argument("--data", type=Path, default=SHARED, help="Folder with xquad.<lang>.json files.")
    args = parser.parse_args()
    missing = [lang for lang in LANGUAGES if not (args.data / f"xquad.{lang}.json").is_file()]
    if missing:
        print(f"skipped: no XQuAD files for {', '.join(missing)} in {args.data}", file=sys.stderr)
        return 1
    from crossling.config import build_config
    from crossling.pipelines.experiment import run_experiment

    with tempfile.TemporaryDirectory(prefix="lareqa-") as work:
        folder = Path(work) / "xquad-r"
        folder.mkdir()
        sentences = {lang: to_xquad_r(args.data / f"xquad.{lang}.json", folder / f"{lang}.json") for lang in LANGUAGES}
        config = build_config(
            {
                "name": "lareqa",
                "output_dir": str(Path(work) / "runs"),
                "model": {"name_or_path": "offline:multilingual-e5-small"},
                "task": {"name": "lareqa", "data_dir": str(folder)},
                "retrieval": {"layer": args.layer, "scoring": args.scoring},
            }
        )
        started = time.perf_counter()
        results = run_experiment(config, show_progress=False)
    print("| language | questions | sentences | mAP@20 |\n|---|---:|---:|---:|")
    for lang in LANGUAGES:
        scores = results["languages"][lang]
        print(f"| {lang} | {scores['count']} | {sentences[lang]} | {scores['map@20']:.1f} |")
    print(f"| macro average | | {sum(sentences.values())} (pool) | {results['summary']['macro_avg']:.1f} |")
    print(f"\n{time.perf_counter() - started:.0f} s (layer {args.layer}, {args.scoring})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
