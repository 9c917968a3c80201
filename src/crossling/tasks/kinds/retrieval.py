"""Retrieval and ranking (Tatoeba, BUCC, LAReQA, Mewsli-X): sentence vectors of the encoder, scored without fine-tuning."""

from __future__ import annotations

from crossling.taskspec import KindPlugin, TaskKind


class Retrieval(KindPlugin):
    """Sentence retrieval, bitext mining and ranking: no head and no training of its own.

    The encoder is scored as the earlier (intermediate) stages left it, or as pretrained;
    ``crossling.pipelines.retrieval`` encodes and scores each language.
    """

    kind = TaskKind.RETRIEVAL
    fine_tunes = False


RETRIEVAL = Retrieval()
