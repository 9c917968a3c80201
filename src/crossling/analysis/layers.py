"""Layer probes: per hidden state, cross-lingual retrieval, language identification and CKA similarity to English.

DLFA fuses one lower layer into the last because lower layers are assumed to carry more
cross-lingual (less language-specific) information. These probes show per encoder where
that information sits, from sentence vectors pooled at every hidden state 0..L:

* retrieval accuracy xx->en and en->xx (each sentence's translation is its nearest
  neighbour by cosine; computed by ``crossling.pipelines.probe``, which owns the encoder);
* ``language_id_accuracy``: held-out accuracy of a linear probe (logistic regression) that
  predicts the language of a sentence vector; high = the layer is language-specific;
* ``linear_cka``: the similarity of a language's vectors to their English translations'.

``choose_layer`` turns the probe into DLFA's fusion layer (``aggregation.layer: auto``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crossling.errors import DataError
from crossling.utils.io import atomic_path


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear centred kernel alignment (Kornblith et al. 2019) of two representations of the same n items.

    ``CKA(X, Y) = ||Y^T X||_F^2 / (||X^T X||_F * ||Y^T Y||_F)`` with X (n x p) and Y (n x q)
    centred column-wise (each feature's mean over the n items subtracted); row i of X and
    of Y describe the same item (a sentence and its translation). It lies in [0, 1], is 1
    for ``Y = X Q`` with Q orthogonal and for ``Y = c X`` (c != 0), and is invariant to
    isotropic scaling and orthogonal transforms, not to arbitrary invertible ones. Computed
    in float64; a constant representation (zero after centring) raises ``ValueError``.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"linear_cka: expected n x p and n x q matrices with the same n, got {x.shape} and {y.shape}")
    x = x - x.mean(axis=0, keepdims=True)
    y = y - y.mean(axis=0, keepdims=True)
    denominator = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    if denominator == 0.0:
        raise ValueError("linear_cka: a representation is constant over the items (zero after centring)")
    return float(np.linalg.norm(y.T @ x) ** 2 / denominator)


@dataclass(frozen=True)
class LanguageIdResult:
    """Held-out accuracy (percent) of the language-identification probe at one layer.

    Args:
        mean: Mean accuracy over the seeds.
        std: Sample standard deviation over the seeds (0 for one seed).
        per_seed: Accuracy of each seed's split and fit, in seed order.
    """

    mean: float
    std: float
    per_seed: tuple[float, ...]


def language_id_accuracy(
    vectors: Mapping[str, np.ndarray], seeds: Sequence[int], *, test_fraction: float = 0.25
) -> LanguageIdResult:
    """Accuracy of a linear probe predicting each vector's language, on held-out vectors, over ``seeds``.

    Per seed: a stratified split (``test_fraction`` of every language held out), features
    standardised on the training part, scikit-learn ``LogisticRegression`` (L2, C = 1,
    multinomial) fitted on it and scored on the held-out part. Chance is about
    ``100 / len(vectors)``.

    Args:
        vectors: Language -> its sentence vectors (n_lang x E); at least two languages.
        seeds: One split and fit per seed.
        test_fraction: Share of each language's vectors held out.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(vectors) < 2:
        raise DataError(f"language identification needs at least two languages, got {list(vectors)}")
    if not seeds:
        raise ValueError("language_id_accuracy: at least one seed is required")
    features = np.concatenate([np.asarray(v, dtype=np.float32) for v in vectors.values()])
    labels = np.concatenate([np.full(len(v), i) for i, v in enumerate(vectors.values())])
    accuracies = []
    for seed in seeds:
        x_train, x_test, y_train, y_test = train_test_split(
            features, labels, test_size=test_fraction, stratify=labels, random_state=seed
        )
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        probe.fit(x_train, y_train)
        accuracies.append(100.0 * float((probe.predict(x_test) == y_test).mean()))
    std = float(np.std(accuracies, ddof=1)) if len(accuracies) > 1 else 0.0
    return LanguageIdResult(float(np.mean(accuracies)), std, tuple(accuracies))


@dataclass(frozen=True)
class LayerScores:
    """The three probe views of one hidden state.

    Args:
        layer: Index of the hidden state (0 = embeddings, L = last layer).
        retrieval: Language -> ``{"xx_en": %, "en_xx": %}`` retrieval accuracy.
        language_id: The language-identification probe (over English and every language).
        cka: Language -> linear CKA of its vectors with their English translations'.
    """

    layer: int
    retrieval: dict[str, dict[str, float]]
    language_id: LanguageIdResult
    cka: dict[str, float]

    @property
    def retrieval_mean(self) -> float:
        """Mean over languages of the mean of both directions, in percent."""
        return float(np.mean([(r["xx_en"] + r["en_xx"]) / 2 for r in self.retrieval.values()]))

    @property
    def cka_mean(self) -> float:
        """Mean CKA to English over languages."""
        return float(np.mean(list(self.cka.values())))


@dataclass(frozen=True)
class ProbeResult:
    """Probe scores of every hidden state 0..L of one encoder on one parallel data set.

    Args:
        model: The encoder probed (name, path or run directory).
        data: Description of the data (task, split, languages, sentences per language).
        layers: One ``LayerScores`` per hidden state, in order 0..L.
        seeds: Seeds of the language-identification probe.
    """

    model: str
    data: dict[str, Any]
    layers: tuple[LayerScores, ...]
    seeds: tuple[int, ...] = field(default=())

    @property
    def num_layers(self) -> int:
        """L: the index of the last hidden state."""
        return len(self.layers) - 1

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data: the per-layer views, their means, and the inputs."""
        return {
            "model": self.model,
            "data": self.data,
            "seeds": list(self.seeds),
            "layers": [{**asdict(s), "retrieval_mean": s.retrieval_mean, "cka_mean": s.cka_mean} for s in self.layers],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProbeResult:
        """The inverse of ``as_dict``."""
        layers = tuple(
            LayerScores(
                layer=entry["layer"],
                retrieval=entry["retrieval"],
                cka=entry["cka"],
                language_id=LanguageIdResult(
                    entry["language_id"]["mean"], entry["language_id"]["std"], tuple(entry["language_id"]["per_seed"])
                ),
            )
            for entry in data["layers"]
        )
        return cls(data["model"], dict(data["data"]), layers, tuple(data.get("seeds", ())))


@dataclass(frozen=True)
class LayerChoice:
    """DLFA's fusion layer chosen from a probe (``aggregation.layer: auto``).

    Args:
        layer: The chosen k (1 <= k < L).
        premise_holds: Whether layer k retrieves better than the last layer (DLFA's premise).
        retrieval: Mean retrieval accuracy (both directions, all languages) of every hidden state.
        rule: The rule, in words.
    """

    layer: int
    premise_holds: bool
    retrieval: tuple[float, ...]
    rule: str

    @property
    def last_layer_retrieval(self) -> float:
        """Mean retrieval accuracy of the last hidden state."""
        return self.retrieval[-1]


#: ``choose_layer``'s rule, as the docs and the manifest state it.
CHOICE_RULE = (
    "k = the lower layer 1..L-1 with the highest mean retrieval accuracy (xx->en and en->xx, "
    "mean over languages; ties go to the higher layer); the premise holds when it beats the last layer"
)


def choose_layer(result: ProbeResult) -> LayerChoice:
    """DLFA's k from a probe: the lower transformer layer (1..L-1) that retrieves best (``CHOICE_RULE``).

    The embeddings (0) and the last layer (L) are not candidates: DLFA fuses a transformer
    layer below the last one. A tie goes to the higher layer (closer to the features the
    head already reads). ``premise_holds`` is false when no candidate retrieves strictly
    better than the last layer: then lower layers are not more cross-lingual by this
    measure, and DLFA's premise does not hold for this encoder (k is still the best lower one).
    """
    if result.num_layers < 2:
        raise DataError(
            f"{result.model}: choosing a lower layer needs at least 2 transformer layers, got {result.num_layers}"
        )
    retrieval = tuple(scores.retrieval_mean for scores in result.layers)
    candidates = range(1, result.num_layers)
    best = max(candidates, key=lambda k: (retrieval[k], k))
    return LayerChoice(best, retrieval[best] > retrieval[-1], retrieval, CHOICE_RULE)


def markdown_table(result: ProbeResult) -> str:
    """Markdown: one row per hidden state with the three views (means) and the per-language retrieval."""
    languages = list(result.layers[0].retrieval)
    head = (
        "| layer | retrieval (mean, %) | language ID (%, mean ± sd) | CKA to en (mean) | "
        + " | ".join(f"{lang} xx->en / en->xx" for lang in languages)
        + " |"
    )
    rule = "|---:|---:|---:|---:|" + "---:|" * len(languages)
    rows = []
    for s in result.layers:
        per_language = " | ".join(
            f"{s.retrieval[lang]['xx_en']:.1f} / {s.retrieval[lang]['en_xx']:.1f}" for lang in languages
        )
        rows.append(
            f"| {s.layer} | {s.retrieval_mean:.1f} | {s.language_id.mean:.1f} ± {s.language_id.std:.1f} | "
            f"{s.cka_mean:.3f} | {per_language} |"
        )
    return "\n".join([head, rule, *rows]) + "\n"


def plot_layers(result: ProbeResult, path: Path, title: str | None = None) -> Path:
    """A PNG line plot of the three views per hidden state: retrieval and language ID (%, left axis), CKA (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [s.layer for s in result.layers]
    fig, left = plt.subplots(figsize=(8, 4.5))
    left.plot(
        xs, [s.retrieval_mean for s in result.layers], marker="o", label="retrieval accuracy (mean of both directions)"
    )
    lid = np.array([s.language_id.mean for s in result.layers])
    spread = np.array([s.language_id.std for s in result.layers])
    left.plot(xs, lid, marker="s", label="language-ID probe accuracy")
    left.fill_between(xs, lid - spread, lid + spread, alpha=0.2)
    left.set_xlabel("hidden state (0 = embeddings)")
    left.set_ylabel("accuracy (%)")
    left.set_ylim(0, 100)
    left.set_xticks(xs)
    right = left.twinx()
    right.plot(xs, [s.cka_mean for s in result.layers], marker="^", color="tab:green", label="linear CKA to English")
    right.set_ylabel("linear CKA to English")
    right.set_ylim(0, 1)
    handles = left.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    left.legend(handles, [h.get_label() for h in handles], loc="lower right", fontsize=8)
    left.set_title(title or f"layer probes: {result.model}")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path
