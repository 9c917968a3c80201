"""Figure 9: retrieval at scale: top-k search, encoding and its cache over the candidate pool's size, and evaluation over languages.

Search: ``crossling.evaluation.retrieval.top_k`` of Q query vectors against N synthetic candidate
vectors of e5-small's width (384), with ``index`` ``exact`` (torch, blockwise) and ``faiss``
(``IndexFlatIP``), each run in a fresh ``python bench/pool_scaling.py --child search`` process
that reports its time and peak RSS (VmHWM). Encoding: candidates/s of ``SentenceEncoder`` (chunked,
crossling's defaults) with the offline e5 on a sample of synthetic texts, the peak RSS of encoding
10k and 100k texts with a tiny BERT in child processes, and the on-disk vector cache's second read.
Evaluation: a Tatoeba evaluation (``evaluate_retrieval``) over 1, 4 and 8 languages.

``--parts memory`` (any of ``PARTS``) measures those parts only and keeps the others from the
figure's record, each with the run that measured it (the section and the summary say which).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import (
    SHARED_DATA,
    base_parser,
    device,
    fmt,
    interleaved,
    markdown_table,
    median,
    model_dir,
    model_label,
    run_figure,
    select_device,
    setup_environment,
    synchronize,
    tiny_bert_dir,
)
from memory import peak_rss_mib
from records import summary_row

#: Sentence-vector width of multilingual-e5-small (the synthetic search vectors).
WIDTH = 384
#: Tatoeba languages of the evaluation, in the order they are added (the first L of them).
TATOEBA = ("de", "fr", "es", "ru", "ja", "zh", "ar", "hi")
#: The bounded-memory claim: 10x the candidates take at most this much more working memory (memory that grew
#: with the pool would take 10x; the allocator's heap settles over the first few chunks, hence not 1.0x).
RSS_TARGET = 1.5
CHILDREN = ("search", "encode", "cache")
#: The figure's parts, in section order (``--parts`` measures some and keeps the others from its record).
PARTS = ("search", "memory", "rate", "languages")
#: The model of the memory and cache children: built from a config, small enough to encode 100k texts in a minute.
TINY = {"hidden": 16, "layers": 1, "heads": 1}
TINY_LABEL = "a BERT built from a config (1 layer, hidden 16, WordPiece 4k, random weights; batch 512, fp32)"


def resident_mib() -> float:
    """This process's current resident set (VmRSS) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def synthetic_texts(count: int, seed: int = 0) -> list[str]:
    """``count`` candidate texts: words of XNLI's English dev sentences, drawn with those sentences' length spread."""
    sentences = [
        text
        for line in (SHARED_DATA / "xnli" / "dev-en.tsv").read_text(encoding="utf-8").splitlines()
        for text in line.split("\t")[:2]
    ]
    words = [word for sentence in sentences for word in sentence.split()]
    lengths = [len(sentence.split()) for sentence in sentences]
    rng = random.Random(seed)
    return [" ".join(rng.choices(words, k=rng.choice(lengths))) for _ in range(count)]


def experiment_config(
    path: Path, task: dict[str, Any] | None = None, batch_size: int = 64, precision: str = "auto"
) -> Any:
    """A crossling config of the model at ``path`` (last layer, mean pooling) and a retrieval task (default tmpl-retrieval)."""
    from crossling.config import build_config

    return build_config(
        {
            "name": "pool-scaling",
            "model": {"name_or_path": str(path)},
            "task": task or {"name": "tmpl-retrieval"},
            "retrieval": {"layer": -1, "batch_size": batch_size},
            "training": {"mixed_precision": precision},
        }
    )


def sentence_encoder(path: Path, weights_identity: str | None = None, **options: Any) -> Any:
    """crossling's ``SentenceEncoder`` of the model at ``path``, as a retrieval run builds it (length 128)."""
    from crossling.models.encoder import load_tokenizer
    from crossling.models.sentence_encoder import build_sentence_encoder

    config = experiment_config(path, **options)
    return build_sentence_encoder(config, load_tokenizer(config.model), 128, weights_identity=weights_identity)


def tiny_dir() -> Path:
    """The ``TINY`` model's directory (built once under CROSSLING_HOME)."""
    from crossling.utils.paths import crossling_home

    return tiny_bert_dir(crossling_home() / "bench-models", **TINY)


# --- children: one measurement per fresh process, so that its peak RSS is its own ----------------------


def search_child(backend: str, pool: int, queries: int) -> dict[str, Any]:
    """Top-k (k = 20) of ``queries`` random vectors among ``pool`` random vectors with ``index`` = ``backend``."""
    import torch

    from crossling.evaluation.retrieval import RANKING_DEPTH, top_k

    generator = torch.Generator().manual_seed(pool)
    keys = torch.randn(pool, WIDTH, generator=generator).to(device())
    query = torch.randn(queries, WIDTH, generator=generator).to(device())
    before = resident_mib()
    synchronize()
    started = time.perf_counter()
    values, indices = top_k(query, keys, RANKING_DEPTH, index=backend)
    synchronize()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_rss_mib": peak_rss_mib(),
        "vectors_rss_mib": before,
        "indices": indices.cpu().tolist(),
        "values": values.cpu().tolist(),
    }


def encode_child(path: Path, pool: int) -> dict[str, Any]:
    """Encode ``pool`` synthetic texts with the model at ``path`` (chunked); time, peak RSS and what it started from."""
    encoder = sentence_encoder(path, batch_size=512, precision="no")
    texts = synthetic_texts(pool)
    encoder.encode(texts[:64], role="passage")  # warm-up: lazy initialisation is not the pool's memory
    chunk_peaks: list[float] = []
    real_chunk = encoder._encode_chunk

    def traced(chunk: Any, where: Any) -> Any:  # the peak RSS after each chunk of chunk_size texts
        yield from real_chunk(chunk, where)
        chunk_peaks.append(peak_rss_mib())

    encoder._encode_chunk = traced
    before = resident_mib()
    started = time.perf_counter()
    vectors = encoder.encode(texts, "encode the candidate pool", role="passage")
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_rss_mib": peak_rss_mib(),
        "before_mib": before,
        "vectors_mib": vectors.numel() * vectors.element_size() / 2**20,
        "chunk_peaks_mib": chunk_peaks,
    }


def cache_child(path: Path, pool: int, repeats: int) -> dict[str, Any]:
    """The vector cache at ``pool`` candidates: one miss (random vectors stand in for encoding), then ``repeats`` hits.

    ``encode_cached`` keys the file by hashing every text and reads it whole: the second run's cost.
    """
    import torch

    encoder = sentence_encoder(path, weights_identity="bench-pool-scaling")
    encoder.encode = lambda texts, description="encode", *, role="query": torch.randn(len(texts), WIDTH)
    texts = synthetic_texts(pool, seed=2)
    with tempfile.TemporaryDirectory(prefix="bench-vectors-") as cache:
        encoder.vector_cache = Path(cache)
        started = time.perf_counter()
        first = encoder.encode_cached(texts, role="passage")
        write = time.perf_counter() - started
        hits = []
        for _ in range(repeats):
            started = time.perf_counter()
            second = encoder.encode_cached(texts, role="passage")
            hits.append(time.perf_counter() - started)
            assert torch.equal(first, second), "the cache returned other vectors"
        size = sum(f.stat().st_size for f in Path(cache).iterdir()) / 2**20
    return {"write_seconds": write, "hit_seconds": hits, "file_mib": size}


def run_child(args: argparse.Namespace, kind: str, *options: str) -> dict[str, Any]:
    """Run ``--child KIND`` in a fresh Python process (same device and mode); the JSON it prints last."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--device", args.device, *options]
    command += ["--quick"] if args.quick else []
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def child_main(args: argparse.Namespace) -> None:
    """The ``--child`` entry point: measure one thing and print it as JSON."""
    select_device(args.device)
    setup_environment()
    if args.child == "search":
        result = search_child(args.backend, args.pool, args.queries)
    elif args.child == "encode":
        result = encode_child(tiny_dir(), args.pool)
    else:
        result = cache_child(tiny_dir(), args.pool, args.repeats)
    print(json.dumps(result), flush=True)


# --- the parent: interleaved repeats of every measurement ----------------------------------------------


def measure_search(args: argparse.Namespace) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """Per pool size: the search children of both indexes, interleaved."""
    results = {}
    for pool in args.pool_sizes:
        options = ("--pool", str(pool), "--queries", str(args.queries))
        results[pool] = interleaved(
            {
                backend: (
                    lambda backend=backend, options=options: run_child(args, "search", "--backend", backend, *options)
                )
                for backend in ("exact", "faiss")
            },
            args.repeats,
        )
    return results


def measure_encoding_memory(args: argparse.Namespace) -> dict[int, list[dict[str, Any]]]:
    """Per pool size of the tiny model's encoding: the encode children, interleaved."""
    variants = {
        str(pool): (lambda pool=pool: run_child(args, "encode", "--pool", str(pool))) for pool in args.rss_sizes
    }
    return {int(pool): runs for pool, runs in interleaved(variants, args.repeats).items()}


def measure_encoding_rate(args: argparse.Namespace) -> list[dict[str, float]]:
    """The offline e5 on ``--encode-sample`` texts: first ``encode_cached`` (miss: encode, write) and second (hit)."""
    encoder = sentence_encoder(model_dir(args.quick), weights_identity="bench-pool-scaling-e5")
    texts = synthetic_texts(args.encode_sample, seed=1)
    encoder.encode(texts[:64], role="passage")  # warm-up

    def first_then_second() -> dict[str, float]:
        with tempfile.TemporaryDirectory(prefix="bench-vectors-") as cache:
            encoder.vector_cache = Path(cache)
            started = time.perf_counter()
            encoder.encode_cached(texts, "encode the candidate pool", role="passage")
            first = time.perf_counter() - started
            started = time.perf_counter()
            encoder.encode_cached(texts, "encode the candidate pool", role="passage")
            return {"first": first, "second": time.perf_counter() - started}

    return interleaved({"e5": first_then_second}, args.repeats)["e5"]


def measure_languages(args: argparse.Namespace) -> dict[int, list[float]]:
    """Seconds of a Tatoeba ``evaluate_retrieval`` (the model loaded once) over the first L of ``TATOEBA``."""
    from crossling.models.encoder import load_encoder, load_tokenizer
    from crossling.pipelines.retrieval import evaluate_retrieval
    from crossling.tasks.loading import TaskData

    path = model_dir(args.quick)
    base = experiment_config(path)
    encoder, tokenizer = load_encoder(base.model), load_tokenizer(base.model)

    def evaluate(count: int) -> dict[str, float]:
        task = {
            "name": "tatoeba",
            "data_dir": str(SHARED_DATA / "tatoeba"),
            "eval_languages": list(TATOEBA[:count]),
            "max_eval_examples": args.pairs,
        }
        config = experiment_config(path, task)
        started = time.perf_counter()
        scores = evaluate_retrieval(
            config, TaskData.from_config(config.task), tokenizer, predictions_dir=None, encoder=encoder
        )
        assert len(scores) == count
        return {"seconds": time.perf_counter() - started}

    evaluate(1)  # warm-up: first-call initialisation is no language's cost
    runs = interleaved({str(n): (lambda n=n: evaluate(n)) for n in args.languages}, args.repeats)
    return {int(n): [r["seconds"] for r in rows] for n, rows in runs.items()}


# --- the section -----------------------------------------------------------------------------------------


def _count(n: int) -> str:
    """``10k``, ``1M``: a pool size as the section names it."""
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n / 1000:g}k" if n >= 1000 else str(n)


def agreement(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """How far faiss's rankings equal torch's: the share of (query, rank) cells with the same index, over all repeats.

    ``near_ties`` describes the other cells: the largest cosine difference between the two
    indices there (both computed exactly, so a difference at float rounding is a tie ordered otherwise).
    """
    import torch

    reference = torch.tensor(runs["exact"][0]["indices"])
    same, cells, gap = 0, 0, 0.0
    for run in runs["exact"] + runs["faiss"]:
        indices, values = torch.tensor(run["indices"]), torch.tensor(run["values"])
        exact_values = torch.tensor(runs["exact"][0]["values"])
        differ = indices != reference
        same, cells = same + int((~differ).sum()), cells + differ.numel()
        if differ.any():
            gap = max(gap, float((values - exact_values)[differ].abs().max()))
    if same == cells:
        return {"ranks": 1.0, "near_ties": "none"}
    return {"ranks": same / cells, "near_ties": f"cosines within {gap:.0e}: near-ties"}


def search_table(search: dict[int, dict[str, list[dict[str, Any]]]]) -> tuple[str, dict[str, Any]]:
    """The search table and the largest pool's numbers (for the summary)."""
    rows, largest = [], {}
    for pool, runs in search.items():
        exact, faiss = ([r["seconds"] for r in runs[b]] for b in ("exact", "faiss"))
        rss = {b: [r["peak_rss_mib"] for r in runs[b]] for b in ("exact", "faiss")}
        same = agreement(runs)
        rows.append(
            [
                _count(pool),
                f"{pool * WIDTH * 4 / 2**20:.0f}",
                fmt(exact, 3),
                fmt(faiss, 3),
                f"{median(faiss) / median(exact):.2f}x",
                fmt(rss["exact"], 0),
                fmt(rss["faiss"], 0),
                f"{100 * same['ranks']:.3f}% ({same['near_ties']})",
            ]
        )
        largest = {"pool": pool, "exact": exact, "faiss": faiss, "rss": rss, "same": same}
    headers = [
        "pool",
        "vectors MiB",
        "torch exact s",
        "faiss IndexFlatIP s",
        "faiss / exact",
        "peak RSS exact MiB",
        "peak RSS faiss MiB",
        "ranks with the same index (the others)",
    ]
    return markdown_table(headers, rows), largest


def chunk_trace(runs: list[dict[str, Any]]) -> str:
    """Peak RSS over RSS before encoding after each chunk, in every repeat: ``+62 +70 ... MiB; ...``."""
    return "; ".join(
        " ".join(f"+{peak - run['before_mib']:.0f}" for peak in run["chunk_peaks_mib"]) + " MiB" for run in runs
    )


def memory_table(encoding: dict[int, list[dict[str, Any]]]) -> tuple[str, list[float]]:
    """The tiny model's encoding memory table and the per-repeat working-memory ratio of the largest to the smallest."""
    rows, working = [], {}
    for pool, runs in encoding.items():
        working[pool] = [r["peak_rss_mib"] - r["before_mib"] - r["vectors_mib"] for r in runs]
        rows.append(
            [
                _count(pool),
                fmt([pool / r["seconds"] for r in runs], 0),
                fmt([r["before_mib"] for r in runs], 0),
                fmt([r["peak_rss_mib"] for r in runs], 0),
                f"{runs[0]['vectors_mib']:.1f}",
                fmt(working[pool], 0),
            ]
        )
    small, large = min(working), max(working)
    ratio = [a / b for a, b in zip(working[large], working[small], strict=True)]
    headers = [
        "candidates",
        "candidates/s",
        "RSS before MiB",
        "peak RSS MiB",
        "output vectors MiB",
        "working memory MiB (peak - before - output)",
    ]
    table = markdown_table(headers, rows)
    return (
        f"{table}\n\nPeak RSS over RSS before encoding after each chunk of {_count(large)}, per repeat: {chunk_trace(encoding[large])}.",
        ratio,
    )


def languages_table(languages: dict[int, list[float]]) -> str:
    """Evaluation time over the number of Tatoeba languages."""
    one = min(languages)
    rows = [
        [
            n,
            ", ".join(TATOEBA[:n]),
            fmt(seconds),
            fmt([s / n for s in seconds]),
            f"{median(seconds) / median(languages[one]):.2f}x",
        ]
        for n, seconds in languages.items()
    ]
    return markdown_table(["languages", "which", "seconds", "seconds per language", f"vs {one}"], rows)


def encoding_text(args: argparse.Namespace, rate: list[dict[str, float]], cache: dict[str, Any]) -> tuple[str, float]:
    """The encoding-rate and cache paragraph with its table; the extrapolated seconds to encode 1M candidates."""
    per_second = [args.encode_sample / r["first"] for r in rate]
    million = 1_000_000 / median(per_second)
    table = markdown_table(
        ["texts", "first: encode + write s", "candidates/s", "second: cache hit s", "second / first"],
        [
            [
                args.encode_sample,
                fmt([r["first"] for r in rate]),
                fmt(per_second, 1),
                fmt([r["second"] for r in rate], 4),
                fmt([100 * r["second"] / r["first"] for r in rate], 2) + " %",
            ]
        ],
    )
    text = (
        f"**Encoding** with {model_label(args.quick)} through `SentenceEncoder.encode_cached` (chunks of 8192 "
        f"texts, batch 64, length 128, the passage prompt), {args.encode_sample} synthetic texts, a fresh vector "
        "cache per repeat: the first call encodes and writes the safetensors file, the second reads it.\n\n"
        f"{table}\n\n"
        f"Extrapolated, not measured: encoding 1M candidates at {median(per_second):.1f} candidates/s takes "
        f"**{million / 3600:.1f} h** here (texts of this length spread; Mewsli-X's entity descriptions differ). "
        f"The cache at {_count(args.cache_pool)} candidates (random vectors stand in for the encoding, "
        f"{cache['file_mib']:.0f} MiB file): written in {cache['write_seconds']:.2f} s, read back in "
        f"{fmt(cache['hit_seconds'])} s (hashing every text for the key, then the file, which the OS still caches)."
    )
    return text, million


def search_part(args: argparse.Namespace, search: dict[int, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """The top-k search paragraph, its table and its summary row."""
    import faiss
    import torch

    table, largest = search_table(search)
    threads = f"torch {torch.get_num_threads()} threads, faiss {faiss.omp_get_max_threads()} OpenMP threads"
    body = (
        f"**Top-k search** (k = 20) of {args.queries} query vectors among N synthetic candidate vectors "
        f"(Gaussian, width {WIDTH} as e5-small's), `top_k(..., index=...)`: torch blockwise (`exact`) vs a faiss "
        f"`IndexFlatIP` on L2-normalised float32 vectors (`faiss`; both exact cosine); each run in its own "
        f"process, which reports its peak RSS (VmHWM, the vectors included); {threads}, device "
        f"{device().type} (faiss searches on the CPU). Last column: the (query, rank) cells of every repeat "
        f"of both whose index equals the first torch repeat's, and how close the cosines are where it does not.\n\n{table}"
    )
    ratio = [f / e for f, e in zip(largest["faiss"], largest["exact"], strict=True)]
    row = summary_row(
        f"9 top-20 search of {args.queries} queries in a {_count(largest['pool'])} pool: faiss IndexFlatIP / torch exact",
        "measure",
        f"**{median(ratio):.2f}x** ({median(largest['faiss']):.1f} vs {median(largest['exact']):.1f} s); "
        f"peak RSS {median(largest['rss']['faiss']):.0f} vs {median(largest['rss']['exact']):.0f} MiB",
        "the same index at every rank"
        if largest["same"]["near_ties"] == "none"
        else f"{100 * largest['same']['ranks']:.3f}% of ranks the same index, the others near-ties",
    )
    return {"body": body, "summary": [row]}


def memory_part(encoding: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    """The bounded-encoding-memory paragraph, its table and its summary row."""
    table, ratio = memory_table(encoding)
    sizes = sorted(encoding)
    body = (
        f"**Bounded encoding memory**: {TINY_LABEL}, encoding {' and '.join(_count(n) for n in sizes)} synthetic "
        "texts (words of XNLI's English dev sentences, their length spread) in a child process each. Working "
        "memory = peak RSS - RSS before encoding (model and texts loaded) - the output vectors, which any encoder "
        "returns. Texts are tokenized `SentenceEncoder.chunk_size` (8192) at a time and, on the CPU, the C "
        "heap's freed memory goes back to the OS after every batch, so working memory should not follow the "
        f"pool: target <= {RSS_TARGET}x for 10x the candidates (memory proportional to the pool would be 10x)."
        f"\n\n{table}"
    )
    row = summary_row(
        f"9 encoding working memory, {_count(sizes[-1])} vs {_count(sizes[0])} candidates (tiny BERT, chunked)",
        f"<= {RSS_TARGET}x (bounded)",
        f"**{median(ratio):.2f}x** ({', '.join(f'{r:.2f}' for r in ratio)})",
        "met" if median(ratio) <= RSS_TARGET else "NOT met",
    )
    growth = later_chunk_growth(encoding[sizes[-1]])
    if growth is None:
        return {"body": body, "summary": [row]}
    chunks = len(encoding[sizes[-1]][0]["chunk_peaks_mib"])
    body += (
        f"\n\nFrom the second chunk to the last ({chunks}) of {_count(sizes[-1])}, the peak RSS grew by "
        f"{fmt(growth, 0)} MiB per repeat: what the ratio above holds beyond that is the step from the first chunk "
        "to the second, which the smaller pool (fewer chunks) takes only partly."
    )
    growth_row = summary_row(
        f"9 encoding memory growth from the second chunk to the last of {_count(sizes[-1])} candidates (tiny BERT)",
        "measure (bounded: flat)",
        f"**+{median(growth):.0f} MiB** ({', '.join(f'+{g:.0f}' for g in growth)}) over {chunks - 2} chunks",
        "measured",
    )
    return {"body": body, "summary": [row, growth_row]}


def later_chunk_growth(runs: list[dict[str, Any]]) -> list[float] | None:
    """Per repeat, the peak RSS after the last chunk minus after the second (None with fewer than 3 chunks)."""
    if any(len(run["chunk_peaks_mib"]) < 3 for run in runs):
        return None
    return [run["chunk_peaks_mib"][-1] - run["chunk_peaks_mib"][1] for run in runs]


def rate_part(args: argparse.Namespace, rate: list[dict[str, float]], cache: dict[str, Any]) -> dict[str, Any]:
    """The encoding-rate and vector-cache paragraph and its summary row (1M candidates, extrapolated)."""
    body, million = encoding_text(args, rate, cache)
    per_second = median([args.encode_sample / r["first"] for r in rate])
    row = summary_row(
        f"9 encoding a 1M candidate pool ({'tiny BERT' if args.quick else 'multilingual-e5-small'})",
        "measure",
        f"**{million / 3600:.1f} h** extrapolated ({per_second:.1f} candidates/s); its vector cache read in "
        f"{median(cache['hit_seconds']):.2f} s",
        "extrapolated, not run",
    )
    return {"body": body, "summary": [row]}


def languages_part(args: argparse.Namespace, languages: dict[int, list[float]]) -> dict[str, Any]:
    """The evaluation-over-languages paragraph and its table (no summary row)."""
    body = (
        f"**Evaluation over languages**: `evaluate_retrieval` of Tatoeba ({args.pairs} pairs per language, "
        f"{model_label(args.quick)}, loaded once), over the first {', '.join(map(str, args.languages))} languages of "
        f"{', '.join(TATOEBA)}.\n\n{languages_table(languages)}"
    )
    return {"body": body, "summary": []}


def assemble(parts: dict[str, dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The section body and summary rows from its parts; a part kept from an earlier run says which run.

    Such a part's summary rows carry that run (``run``), so the summary says where and when they were measured.
    """
    import records

    bodies, rows = [], []
    for name in PARTS:
        part = parts[name]
        run = part.get("run")
        body = part["body"]
        if run is not None:
            body += (
                f"\n\n(This part is from an earlier run: `{run['command']}`, {run['machine']['date']}, load "
                f"average before {run['load_before']} ({records.load_note(run)}).)"
            )
        bodies.append(body)
        rows += [{**row, "run": run} if run is not None else row for row in part["summary"]]
    return "\n\n".join(bodies), rows


def kept_parts(args: argparse.Namespace, measured: set[str]) -> dict[str, dict[str, Any]]:
    """The parts not measured now, from the figure's record (each with the run that measured it)."""
    key = "pool-scaling-quick" if args.quick else "pool-scaling"
    path = args.results / f"{key}.json"
    record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    recorded = record.get("parts") if isinstance(record.get("parts"), dict) else {}
    missing = sorted(set(PARTS) - measured - set(recorded))
    if missing:
        sys.exit(f"{path}: no record of the parts {', '.join(missing)} to keep; run them too (--parts)")
    run = {k: record[k] for k in ("command", "machine", "load_before", "load_after")}
    return {name: {"run": run, **part} for name, part in recorded.items() if name not in measured}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """The parts of ``--parts`` (default all: search, memory, rate and cache, languages); the section.

    With some parts only, the others are kept from the figure's record in ``--results``.
    """
    parts: dict[str, dict[str, Any]] = {}
    if "search" in args.parts:
        from crossling.evaluation.retrieval import require_faiss

        require_faiss()
        parts["search"] = search_part(args, measure_search(args))
    if "memory" in args.parts:
        parts["memory"] = memory_part(measure_encoding_memory(args))
    if "rate" in args.parts:
        cache = run_child(args, "cache", "--pool", str(args.cache_pool), "--repeats", str(args.repeats))
        parts["rate"] = rate_part(args, measure_encoding_rate(args), cache)
    if "languages" in args.parts:
        parts["languages"] = languages_part(args, measure_languages(args))
    if len(parts) < len(PARTS):
        parts.update(kept_parts(args, set(parts)))
    body, summary = assemble(parts)
    return {"body": body, "summary": summary, "parts": parts}


def _parts(text: str) -> list[str]:
    names = [name for name in text.split(",") if name]
    unknown = [name for name in names if name not in PARTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"expected parts among {', '.join(PARTS)}, got {text!r}")
    return names


def _sizes(text: str) -> list[int]:
    return [int(float(part)) for part in text.split(",") if part]


def main() -> None:
    """Parse the options; run a child, or measure and write the section."""
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--pool-sizes", type=_sizes, help="Search pools (default 10000,100000,1000000).")
    parser.add_argument("--queries", type=int, help="Query vectors of each search (default 1000; quick 200).")
    parser.add_argument("--rss-sizes", type=_sizes, help="Texts encoded by the tiny model (default 10000,100000).")
    parser.add_argument("--encode-sample", type=int, help="Texts of the e5 encoding rate (default 400).")
    parser.add_argument("--cache-pool", type=int, help="Candidates of the vector-cache read (default 1000000).")
    parser.add_argument("--languages", type=_sizes, help="Tatoeba language counts (default 1,4,8).")
    parser.add_argument("--pairs", type=int, help="Tatoeba pairs per language (default 32).")
    parser.add_argument(
        "--parts",
        type=_parts,
        default=list(PARTS),
        help=f"Comma-separated parts to measure (default all: {','.join(PARTS)}; rate includes the vector cache); "
        "the others are kept from the figure's record.",
    )
    parser.add_argument("--child", choices=CHILDREN, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="exact", help=argparse.SUPPRESS)
    parser.add_argument("--pool", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    quick = args.quick
    args.pool_sizes = args.pool_sizes or ([2000, 20000] if quick else [10_000, 100_000, 1_000_000])
    args.queries = args.queries or (200 if quick else 1000)
    # Both above SentenceEncoder.chunk_size (8192): below it, a pool's chunk is smaller than a full one.
    args.rss_sizes = args.rss_sizes or ([10_000, 30_000] if quick else [10_000, 100_000])
    args.encode_sample = args.encode_sample or (100 if quick else 400)
    args.cache_pool = args.cache_pool or (20000 if quick else 1_000_000)
    args.languages = args.languages or ([1, 2] if quick else [1, 4, 8])
    args.pairs = args.pairs or (16 if quick else 32)
    if args.child:
        child_main(args)
        return
    run_figure("pool-scaling", "Figure 9: retrieval at scale: pool size and evaluation languages", measure, args)


if __name__ == "__main__":
    main()
