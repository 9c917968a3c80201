"""Task heads, registered by task kind: they read the aggregated token features (B x T x E)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from crossling.tasks.registry import TaskKind


def masked_mean(features: Tensor, attention_mask: Tensor) -> Tensor:
    """``sum_t m_t h_t / sum_t m_t``: B x T x E, B x T -> B x E (padding excluded)."""
    mask = attention_mask.unsqueeze(-1).to(features.dtype)
    return (features * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


class SequenceClassificationHead(nn.Module):
    """``logits = W_2 tanh(W_1 pool(Z))``: pool = first token or masked mean, with dropout before each layer.

    Args:
        hidden_size: E, size of the aggregated features.
        num_labels: Number of classes.
        pooling: ``cls`` (first token, as BERT's pooler) or ``mean``.
        dropout: Dropout probability.
    """

    def __init__(self, hidden_size: int, num_labels: int, *, pooling: str = "cls", dropout: float = 0.1) -> None:
        super().__init__()
        if num_labels < 1:
            raise ValueError(f"SequenceClassificationHead: num_labels must be >= 1, got {num_labels}")
        if pooling not in ("cls", "mean"):
            raise ValueError(f"SequenceClassificationHead: pooling must be 'cls' or 'mean', got {pooling!r}")
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.classifier = nn.Linear(hidden_size, num_labels)

    def forward(self, features: Tensor, attention_mask: Tensor) -> Tensor:
        """B x T x E features, B x T mask -> B x num_labels logits."""
        pooled = features[:, 0] if self.pooling == "cls" else masked_mean(features, attention_mask)
        hidden = torch.tanh(self.dense(self.dropout(pooled)))
        return self.classifier(self.dropout(hidden))

    @staticmethod
    def loss(logits: Tensor, labels: Tensor) -> Tensor:
        """Mean cross-entropy over the batch."""
        return nn.functional.cross_entropy(logits.float(), labels)


class TokenClassificationHead(nn.Module):
    """``logits_t = W dropout(Z_t)`` for every token t.

    Args:
        hidden_size: E.
        num_labels: Number of tags.
        dropout: Dropout probability.
    """

    def __init__(self, hidden_size: int, num_labels: int, *, dropout: float = 0.1, **_: Any) -> None:
        super().__init__()
        if num_labels < 1:
            raise ValueError(f"TokenClassificationHead: num_labels must be >= 1, got {num_labels}")
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, num_labels)

    def forward(self, features: Tensor, attention_mask: Tensor) -> Tensor:
        """B x T x E -> B x T x num_labels."""
        return self.classifier(self.dropout(features))

    @staticmethod
    def loss(logits: Tensor, labels: Tensor) -> Tensor:
        """Mean cross-entropy over tokens whose label is not -100 (sub-tokens after the first, specials)."""
        return nn.functional.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100)


class SpanExtractionHead(nn.Module):
    """``(start, end) = W Z_t`` per token: two logits per token for answer start and end.

    Args:
        hidden_size: E.
    """

    def __init__(self, hidden_size: int, num_labels: int = 2, **_: Any) -> None:
        super().__init__()
        self.qa_outputs = nn.Linear(hidden_size, 2)

    def forward(self, features: Tensor, attention_mask: Tensor) -> Tensor:
        """B x T x E -> B x T x 2 (start, end logits); padding gets -inf-like logits."""
        logits = self.qa_outputs(features)
        return logits.masked_fill(~attention_mask.bool().unsqueeze(-1), torch.finfo(logits.dtype).min)

    @staticmethod
    def loss(logits: Tensor, labels: Tensor) -> Tensor:
        """Mean of start and end cross-entropies; ``labels`` is B x 2 (start, end token indices)."""
        logits = logits.float()
        start = nn.functional.cross_entropy(logits[..., 0], labels[:, 0])
        end = nn.functional.cross_entropy(logits[..., 1], labels[:, 1])
        return (start + end) / 2


class MultipleChoiceHead(nn.Module):
    """``score_c = w . dropout(pool(Z_c)) + b`` for each choice c: one scalar per (example, choice) sequence.

    The model runs the C sequences of an example as C rows (``CrossLingualModel`` flattens
    B x C x T inputs to (B * C) x T) and reshapes the scores back to B x C.

    Args:
        hidden_size: E.
        num_labels: Ignored (the number of choices comes from the input's shape).
        pooling: ``cls`` (first token) or ``mean``.
        dropout: Dropout probability.
    """

    def __init__(
        self, hidden_size: int, num_labels: int = 0, *, pooling: str = "cls", dropout: float = 0.1, **_: Any
    ) -> None:
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ValueError(f"MultipleChoiceHead: pooling must be 'cls' or 'mean', got {pooling!r}")
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.scorer = nn.Linear(hidden_size, 1)

    def forward(self, features: Tensor, attention_mask: Tensor) -> Tensor:
        """(B * C) x T x E features, (B * C) x T mask -> (B * C) x 1 scores."""
        pooled = features[:, 0] if self.pooling == "cls" else masked_mean(features, attention_mask)
        return self.scorer(self.dropout(pooled))

    @staticmethod
    def loss(logits: Tensor, labels: Tensor) -> Tensor:
        """Mean cross-entropy over the choices: ``logits`` B x C, ``labels`` B (index of the correct choice)."""
        return nn.functional.cross_entropy(logits.float(), labels)


class AlignmentHead(nn.Module):
    """``v = W pool(Z)``: a projection of the sentence into the scene-vector space, trained contrastively.

    The loss is the symmetric InfoNCE of CLIP over the batch: with unit vectors ``t_i``
    (sentences) and ``s_j`` (scenes), ``logits_ij = t_i . s_j / tau`` and the loss is the mean
    of the cross-entropies of rows and columns against the diagonal.

    Args:
        hidden_size: E.
        num_labels: D, the scene-vector size.
        pooling: ``mean`` (default for sentence vectors) or ``cls``.
        dropout: Dropout probability.
        temperature: tau.
    """

    def __init__(
        self,
        hidden_size: int,
        num_labels: int,
        *,
        pooling: str = "mean",
        dropout: float = 0.1,
        temperature: float = 0.05,
        **_: Any,
    ) -> None:
        super().__init__()
        if num_labels < 1:
            raise ValueError(f"AlignmentHead: the scene-vector size must be >= 1, got {num_labels}")
        if pooling not in ("cls", "mean"):
            raise ValueError(f"AlignmentHead: pooling must be 'cls' or 'mean', got {pooling!r}")
        self.pooling = pooling
        self.temperature = temperature
        self.dropout = nn.Dropout(dropout)
        self.projection = nn.Linear(hidden_size, num_labels)

    def forward(self, features: Tensor, attention_mask: Tensor) -> Tensor:
        """B x T x E features -> B x D projections."""
        pooled = features[:, 0] if self.pooling == "cls" else masked_mean(features, attention_mask)
        return self.projection(self.dropout(pooled))

    def loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Symmetric InfoNCE between the B x D projections and the B x D scene vectors."""
        text = nn.functional.normalize(logits.float(), dim=-1)
        scenes = nn.functional.normalize(labels.float(), dim=-1)
        similarity = text @ scenes.T / self.temperature
        target = torch.arange(similarity.shape[0], device=similarity.device)
        return (nn.functional.cross_entropy(similarity, target) + nn.functional.cross_entropy(similarity.T, target)) / 2


#: Head class of each task kind.
HEADS: dict[TaskKind, type[nn.Module]] = {
    TaskKind.PAIR_CLASSIFICATION: SequenceClassificationHead,
    TaskKind.TOKEN_CLASSIFICATION: TokenClassificationHead,
    TaskKind.EXTRACTIVE_QA: SpanExtractionHead,
    TaskKind.MULTIPLE_CHOICE: MultipleChoiceHead,
    TaskKind.IMAGE_TEXT_ALIGNMENT: AlignmentHead,
}


def build_head(kind: TaskKind, hidden_size: int, num_labels: int, **options: Any) -> nn.Module:
    """The head registered for ``kind``."""
    try:
        cls = HEADS[kind]
    except KeyError:
        raise ValueError(f"no trainable head for task kind {kind}; kinds with heads: {', '.join(HEADS)}") from None
    return cls(hidden_size, num_labels, **options)
