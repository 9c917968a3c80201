"""The experiment configuration tree: frozen dataclasses whose field metadata is the documentation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from crossling.config.sections import (
    LANGUAGE_CODE,
    RUN_NAME,
    TaskConfig,
    TrainingConfig,
    check_language_codes,
    check_run_name,
)
from crossling.config.sections import help_field as _help
from crossling.config.stages import (
    DiversityConfig,
    MixtureMemberConfig,
    StageConfig,
    check_stage,
)
from crossling.errors import ConfigError

__all__ = [
    "LANGUAGE_CODE",
    "RUN_NAME",
    "AggregationConfig",
    "DiversityConfig",
    "EnsembleConfig",
    "EvaluationConfig",
    "ExecutorConfig",
    "ExperimentConfig",
    "MixtureMemberConfig",
    "ModelConfig",
    "ProbeConfig",
    "RetrievalConfig",
    "StageConfig",
    "StudyConfig",
    "TaskConfig",
    "TrackingConfig",
    "TrainingConfig",
    "check_language_codes",
    "check_run_name",
]


@dataclass(frozen=True)
class ModelConfig:
    """Which encoder to fine-tune and how to load it.

    Args:
        name_or_path: Hub id, local directory, or ``offline:<name>`` for a model crossling builds itself.
        revision: Hub revision (branch, tag or commit) to pin.
        trust_remote_code: Run model code shipped with a hub repository (off unless you say so).
        allow_pickle_weights: Accept pickle-based ``pytorch_model.bin`` weights (safetensors only otherwise).
        freeze_embeddings: Do not train the embedding layer (saves memory/time; common for large vocabularies).
        pooling: Sentence vector for sequence-level heads: the first token (``cls``) or the masked mean (``mean``).
        head_dropout: Dropout before the task head.
    """

    name_or_path: str = _help(
        "Hub id (e.g. bert-base-multilingual-cased), a local HF model directory, or offline:multilingual-e5-small.",
        default="offline:multilingual-e5-small",
    )
    revision: str | None = _help("Hub revision (branch, tag or commit) to pin.", default=None)
    trust_remote_code: bool = _help("Run model code from the hub repository. Off unless set here.", default=False)
    allow_pickle_weights: bool = _help(
        "Allow pickle-based weight files (pytorch_model.bin). By default only safetensors are loaded.", default=False
    )
    freeze_embeddings: bool = _help("Freeze the embedding layer during fine-tuning.", default=False)
    pooling: Literal["cls", "mean"] = _help(
        "Sentence vector for sequence-level heads: first token or masked mean.", default="cls"
    )
    head_dropout: float = _help("Dropout probability before the task head.", default=0.1)

    def __post_init__(self) -> None:
        if not self.name_or_path:
            raise ConfigError("model.name_or_path: must not be empty")
        if not 0.0 <= self.head_dropout < 1.0:
            raise ConfigError(f"model.head_dropout: expected a probability in [0, 1), got {self.head_dropout}")


@dataclass(frozen=True)
class AggregationConfig:
    """How the encoder's layers become the token representation the head reads (see `crossling strategies`).

    Args:
        strategy: One of ``last``, ``layer``, ``mean``, ``scalar_mix``, ``concat``, ``dlfa``.
        layer: Lower layer k (index into hidden states: 0 = embeddings, negative counts from the end),
            or ``auto``: chosen before training from the layer probe on the ``probe`` section's data
            (docs/layers.md states the rule).
        reduction: DLFA bottleneck ratio r.
        conv_order: DLFA convolution order.
        norm: DLFA normalisation inside the attention branches.
        fusion: DLFA fusion formula.
        iterative: DLFA second attention pass (iAFF).
        dropout: DLFA dropout after the ReLU of each attention bottleneck.
        gate: DLFA that starts from the baseline: ``scalar`` / ``channel`` add a gate g initialised
            to 0, ``Z = H_L + tanh(g) * (fusion - H_L)``, so that Z equals the last layer at
            initialisation; ``none`` (default) is the plain fusion.
        lr_multiplier: The aggregation module's learning rate is ``training.learning_rate`` times
            this (a randomly initialised module trained at the encoder's 2e-5 may stay near its start).
    """

    strategy: str = _help("Aggregation strategy: last, layer, mean, scalar_mix, concat or dlfa.", default="last")
    layer: int | Literal["auto"] | None = _help(
        "Lower layer k for layer/mean/scalar_mix/concat/dlfa (0 = embeddings, -2 = second to last), or auto: "
        "the lower layer that retrieves best in the layer probe on the probe section's data (docs/layers.md).",
        default=None,
    )
    reduction: int = _help("DLFA: reduction ratio r of the two-convolution bottleneck.", default=4)
    conv_order: Literal["compress-expand", "expand-compress"] = _help(
        "DLFA: compress then expand (SENet) or expand then compress.", default="compress-expand"
    )
    norm: Literal["layernorm", "batchnorm", "none"] = _help("DLFA: normalisation in the branches.", default="layernorm")
    fusion: Literal["convex", "aff"] = _help(
        "DLFA: Z = A*X + (1-A)*Y (convex) or 2*A*X + 2*(1-A)*Y (aff).", default="convex"
    )
    iterative: bool = _help("DLFA: a second attention pass on the first fusion (iAFF).", default=False)
    dropout: float = _help("DLFA: dropout after the ReLU of each attention bottleneck.", default=0.0)
    gate: Literal["none", "scalar", "channel"] = _help(
        "DLFA: a gate g initialised to 0, Z = H_L + tanh(g) * (fusion - H_L), one scalar or one per channel, "
        "so training starts from the last layer exactly; none = the plain fusion.",
        default="none",
    )
    lr_multiplier: float = _help(
        "Learning rate of the aggregation module's parameters = training.learning_rate x this.", default=1.0
    )

    def __post_init__(self) -> None:
        if self.reduction < 1:
            raise ConfigError(f"aggregation.reduction: expected an integer >= 1, got {self.reduction}")
        if not self.lr_multiplier > 0:
            raise ConfigError(f"aggregation.lr_multiplier: expected a number > 0, got {self.lr_multiplier}")


@dataclass(frozen=True)
class EvaluationConfig:
    """Zero-shot evaluation settings.

    Args:
        batch_size: Examples per inference batch (batches are length-sorted).
        write_predictions: Write per-language prediction files in the XTREME scorer's format.
        save_logits: Also write every row's logits (``logits/<task>/<split>-<lang>.safetensors``), which
            ``crossling ensemble`` averages across runs.
    """

    batch_size: int = _help("Examples per inference batch (length-sorted).", default=64)
    write_predictions: bool = _help(
        "Write predictions/<task>/test-<lang>.<ext> as xtreme's scorer reads them.", default=True
    )
    save_logits: bool = _help(
        "Write logits/<task>/<split>-<lang>.safetensors (for `crossling ensemble`).", default=False
    )

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ConfigError(f"evaluation.batch_size: expected an integer >= 1, got {self.batch_size}")


@dataclass(frozen=True)
class TrackingConfig:
    """Experiment tracking through accelerate's trackers (like HF Trainer's ``report_to``), off by default.

    Args:
        report_to: Trackers to send train loss, learning rate, dev scores and the final
            per-language metrics to: ``tensorboard``, ``mlflow``, ``wandb`` (each needs its package).
        logging_dir: Where TensorBoard event files (and MLflow's local store) go; default ``<run>/tracking``.
    """

    report_to: tuple[Literal["tensorboard", "mlflow", "wandb"], ...] = _help(
        "Trackers for loss, learning rate, dev and final scores: tensorboard, mlflow, wandb (default: none).",
        default=(),
    )
    logging_dir: Path | None = _help("Directory of tracker logs (default: <run directory>/tracking).", default=None)


#: Why ``retrieval.index: faiss`` refuses ``retrieval.scoring: margin`` (one line, raised at config load).
FAISS_MARGIN = (
    "retrieval.index: faiss ranks by cosine only (the margin scores every candidate, which a faiss search does "
    "not return); set retrieval.scoring: cosine or retrieval.index: exact"
)


@dataclass(frozen=True)
class RetrievalConfig:
    """Sentence vectors and scoring of retrieval tasks (Tatoeba, BUCC, LAReQA, Mewsli-X), which are not fine-tuned.

    The token features are ``H_layer`` when ``aggregation.strategy`` is ``last`` (the
    default), else the output of the parameter-free aggregation strategy (``layer`` or
    ``mean``; the trainable ones are refused: untrained, they are arbitrary).

    Args:
        layer: Hidden state read when ``aggregation.strategy`` is ``last`` (0 = embeddings,
            negative from the end). XTREME's scripts read layer 7 of mBERT-base (12 layers)
            and layer 13 of XLM-R large (24 layers); 7 is the default, never chosen by model name.
        pooling: Sentence vector: ``mean`` over the real tokens (special tokens included) or
            the first token (``cls``).
        scoring: ``cosine`` nearest neighbour, or ``margin``: the ratio margin of Artetxe &
            Schwenk (2019) over k = 4 nearest neighbours in each direction.
        batch_size: Sentences per forward pass (batches are length-sorted).
        max_length: Maximum sub-tokens per sentence; default: the task's.
        prompts: ``auto``: put the prompt the encoder declares before each sentence (e5:
            ``query: `` for queries and both sides of Tatoeba/BUCC, ``passage: `` for ranking
            candidates; see ``crossling.models.sentence_encoder.encoder_prompts``); ``none``:
            encode the raw text.
        index: Top-k search over a ranking task's candidate pool and in bitext mining: ``exact``
            (torch, blockwise) or ``faiss`` (a faiss ``IndexFlatIP`` over L2-normalised float32
            vectors: the same exact cosine, faiss's kernels; ``pip install 'crossling[faiss]'``).
            Cosine scoring only. Tatoeba's pairs are scored as one N x N matrix either way.
    """

    layer: int = _help(
        "Hidden state read with aggregation.strategy last (XTREME: 7 for mBERT-base, 13 for XLM-R large).", default=7
    )
    pooling: Literal["mean", "cls"] = _help(
        "Sentence vector: masked mean over real tokens, or the first token.", default="mean"
    )
    scoring: Literal["cosine", "margin"] = _help(
        "Nearest neighbour by cosine, or by the ratio margin (Artetxe & Schwenk 2019, k = 4).", default="cosine"
    )
    batch_size: int = _help("Sentences per forward pass (length-sorted).", default=64)
    max_length: int | None = _help("Maximum sub-tokens per sentence (default: the task's).", default=None)
    prompts: Literal["auto", "none"] = _help(
        "Prompts the encoder declares (e5: 'query: ' / 'passage: ', from its model card or sentence-transformers "
        "metadata) before each sentence: auto uses them, none encodes raw text.",
        default="auto",
    )
    index: Literal["exact", "faiss"] = _help(
        "Top-k search of ranking pools and bitext mining: exact (torch, blockwise) or faiss (IndexFlatIP, "
        "exact cosine; the faiss extra). Cosine scoring only.",
        default="exact",
    )

    def __post_init__(self) -> None:
        if self.index == "faiss" and self.scoring == "margin":
            raise ConfigError(FAISS_MARGIN)
        if self.batch_size < 1:
            raise ConfigError(f"retrieval.batch_size: expected an integer >= 1, got {self.batch_size}")
        if self.max_length is not None and self.max_length < 8:
            raise ConfigError(f"retrieval.max_length: expected >= 8, got {self.max_length}")


@dataclass(frozen=True)
class ProbeConfig:
    """Parallel data of the layer probe (``crossling probe``, ``aggregation.layer: auto``).

    Args:
        task: A task whose records pair each sentence with its English translation (``tatoeba``,
            ``tmpl-retrieval``) or whose split is parallel across languages (``xnli``, ``pawsx``
            dev files, ``tmpl-nli``: the first sentence of example i in xx and in English).
        source: Its data source (default: the task's).
        data_dir: Directory of its local files.
        split: The split read; ``aggregation.layer: auto`` never reads the target task's evaluated split.
        languages: Languages compared with English (empty: all of the task's but English).
        max_sentences: First N sentences per language.
        seeds: Number of seeds (0, 1, ...) of the language-identification probe's split and fit.
    """

    task: str = _help(
        "Parallel task of the probe: tmpl-retrieval, tatoeba, xnli, pawsx, tmpl-nli, ...", default="tmpl-retrieval"
    )
    source: str | None = _help("Data source of the probe task (default: the task's).", default=None)
    data_dir: Path | None = _help("Directory with the probe task's local files.", default=None)
    split: Literal["dev", "test"] = _help("Split of the probe task that is read.", default="dev")
    languages: tuple[str, ...] = _help("Languages compared with English; empty = all of the task's.", default=())
    max_sentences: int = _help("Use the first N sentences of each language.", default=500)
    seeds: int = _help("Seeds of the language-identification probe (held-out split and fit per seed).", default=3)

    def __post_init__(self) -> None:
        check_language_codes("probe.languages", self.languages)
        if self.max_sentences < 8:
            raise ConfigError(f"probe.max_sentences: expected an integer >= 8, got {self.max_sentences}")
        if self.seeds < 1:
            raise ConfigError(f"probe.seeds: expected an integer >= 1, got {self.seeds}")


@dataclass(frozen=True)
class ExecutorConfig:
    """Where a study's runs execute (``crossling run --executor``); never part of a run's identity.

    Args:
        kind: ``local`` (one after another in this process), ``processes`` (a process per run on this
            machine), ``ray`` (Ray tasks, local instance or a cluster), ``slurm`` (submitit job arrays).
        max_workers: Runs at a time (processes; Ray's local instance CPUs; Slurm array parallelism).
        max_retries: Attempts after the first for a run whose worker failed or was killed.
        cpus_per_run: CPUs each run reserves (Ray task resources; Slurm ``cpus_per_task``).
        gpus_per_run: GPUs each run reserves (Ray ``num_gpus``; Slurm ``gpus_per_node``).
        ray_address: Existing Ray cluster (``auto``, ``ray://host:10001``); unset starts a local instance.
        slurm_cluster: submitit cluster: ``slurm`` (default: detected), or ``local`` to run the jobs as
            subprocesses here (testing).
        slurm_partition: Slurm partition.
        slurm_time_minutes: Wall-clock limit of each Slurm job.
        slurm_extra: Further ``#SBATCH`` parameters (e.g. ``{account: nlp, qos: high}``).
    """

    kind: Literal["local", "processes", "ray", "slurm"] = _help(
        "Engine: local, processes (one per run here), ray, slurm (through submitit).", default="local"
    )
    max_workers: int = _help("Runs at a time (processes, Ray local CPUs, Slurm array parallelism).", default=2)
    max_retries: int = _help("Retries of a run whose worker failed or was killed (it resumes).", default=2)
    cpus_per_run: float = _help("CPUs each run reserves (Ray num_cpus, Slurm cpus_per_task).", default=1.0)
    gpus_per_run: float = _help("GPUs each run reserves (Ray num_gpus, Slurm gpus_per_node).", default=0.0)
    ray_address: str | None = _help(
        "Ray cluster address (auto, ray://host:10001); unset: a local instance.", default=None
    )
    slurm_cluster: Literal["slurm", "local"] | None = _help(
        "submitit cluster: slurm (default: detected) or local (subprocesses here, for testing).", default=None
    )
    slurm_partition: str | None = _help("Slurm partition.", default=None)
    slurm_time_minutes: int = _help("Wall-clock limit of each Slurm job, in minutes.", default=240)
    slurm_extra: dict[str, Any] = _help("Further #SBATCH parameters, e.g. {account: nlp}.", default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_workers < 1:
            raise ConfigError(f"executor.max_workers: expected an integer >= 1, got {self.max_workers}")
        if self.max_retries < 0:
            raise ConfigError(f"executor.max_retries: expected an integer >= 0, got {self.max_retries}")
        if self.cpus_per_run <= 0 or self.gpus_per_run < 0:
            raise ConfigError("executor.cpus_per_run must be > 0 and executor.gpus_per_run >= 0")


@dataclass(frozen=True)
class StudyConfig:
    """How a study (``seeds:``) compares its systems (``crossling.analysis.stats``).

    Args:
        baseline: The system every other one is compared with; default the first variant (or sweep member).
        resamples: Replicates of the paired hierarchical bootstrap behind every interval.
        permutations: Random swaps of each test-set-only paired permutation test (``p_test_set``).
    """

    baseline: str | None = _help(
        "System every other one is compared with (a variant or sweep member name); default: the first one.",
        default=None,
    )
    resamples: int = _help(
        "Bootstrap replicates (seeds and test examples resampled) behind every 95% interval.", default=2000
    )
    permutations: int = _help("Random swaps of the test-set-only paired permutation test (p_test_set).", default=2999)

    def __post_init__(self) -> None:
        if self.resamples < 100:
            raise ConfigError(f"study.resamples: expected at least 100 bootstrap replicates, got {self.resamples}")
        if self.permutations < 99:
            raise ConfigError(f"study.permutations: expected at least 99, got {self.permutations}")


@dataclass(frozen=True)
class EnsembleConfig:
    """An ensemble of a sweep's or study's systems (``crossling ensemble``), run after their runs.

    Args:
        members: Variants (or sweep members) whose runs, which save their logits, are combined.
        method: ``prob``, ``logit``, ``vote`` or ``weighted`` (``crossling.analysis.ensembles``).
    """

    members: tuple[str, ...] = _help("Variant (or sweep member) names whose runs are combined.", default=())
    method: Literal["prob", "logit", "vote", "weighted"] = _help(
        "prob, logit, vote (ties to the higher mean probability) or weighted (fitted on English dev).", default="prob"
    )


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: encoder + aggregation, optional intermediate stages, the target task, evaluation.

    Args:
        name: Name of the run directory under ``output_dir``.
        output_dir: Root directory of runs.
        seed: Seed for data order, initialisation and dropout.
        model: Encoder settings.
        aggregation: Layer aggregation (the DLFA method and its baselines).
        intermediate: Intermediate-task stages, in order.
        task: The target task (fine-tuned, then evaluated zero-shot).
        training: Optimisation of the target task.
        evaluation: Evaluation settings.
        retrieval: Sentence vectors and scoring of retrieval tasks (no fine-tuning).
        probe: Parallel data of the layer probe (``crossling probe``, ``aggregation.layer: auto``).
        tracking: Experiment trackers (TensorBoard, MLflow, W&B); not part of the config hash.
        sweep: Grid of dotted keys to value lists; each combination is a run in a sub-directory.
        variants: Named override sets (systems to compare), crossed with the grid.
        executor: Where the runs execute (not part of any run's identity).
        seeds: A study's seeds: every system runs once per seed, then intervals and tests.
        study: How a study compares its systems.
        ensembles: Ensembles of the variants (or sweep members), run after their runs.
        diversity: Task diversity as a study axis (systems with mixtures of k tasks, equal budgets).
    """

    name: str = _help("Run name (directory under output_dir).", default="experiment")
    output_dir: Path = _help("Root directory of run directories.", default=Path("runs"))
    seed: int = _help("Random seed (data order, initialisation, dropout).", default=42)
    model: ModelConfig = _help("Encoder settings.", default_factory=ModelConfig)
    aggregation: AggregationConfig = _help("Layer aggregation strategy.", default_factory=AggregationConfig)
    intermediate: tuple[StageConfig, ...] = _help("Intermediate-task stages run before the target task.", default=())
    task: TaskConfig = _help("Target task.", default_factory=TaskConfig)
    training: TrainingConfig = _help("Optimisation of the target task.", default_factory=TrainingConfig)
    evaluation: EvaluationConfig = _help("Evaluation settings.", default_factory=EvaluationConfig)
    retrieval: RetrievalConfig = _help(
        "Sentence vectors and scoring of retrieval tasks.", default_factory=RetrievalConfig
    )
    probe: ProbeConfig = _help(
        "Parallel data of the layer probe (crossling probe, aggregation.layer: auto).", default_factory=ProbeConfig
    )
    tracking: TrackingConfig = _help(
        "Experiment tracking (report_to: tensorboard, mlflow, wandb).", default_factory=TrackingConfig
    )
    sweep: dict[str, list[Any]] = _help(
        "Grid: dotted key -> list of values (e.g. aggregation.strategy: [last, dlfa]); one run per combination.",
        default_factory=dict,
    )
    variants: dict[str, dict[str, Any]] = _help(
        "Named systems: name -> {dotted key: value} overrides (e.g. dlfa: {aggregation.strategy: dlfa}); "
        "crossed with the sweep grid.",
        default_factory=dict,
    )
    executor: ExecutorConfig = _help(
        "Where the runs execute: local, processes, ray or slurm.", default_factory=ExecutorConfig
    )
    seeds: tuple[int, ...] = _help(
        "A study: run every variant / sweep member once per seed (run dirs <name>/<system>,seed=<s>) and write "
        "study.json and study.md with 95% intervals over seeds and test examples, and paired tests against the "
        "baseline (`crossling run --seeds N`: seeds seed .. seed+N-1).",
        default=(),
    )
    study: StudyConfig = _help("How a study compares its systems (baseline, resampling).", default_factory=StudyConfig)
    diversity: DiversityConfig = _help(
        "Task diversity as a study axis: systems k=<k>,subset=<j>, each with a mixture of k pool tasks and the "
        "same budget (RQ5).",
        default_factory=DiversityConfig,
    )
    ensembles: dict[str, EnsembleConfig] = _help(
        "Ensembles run after the variants: name -> {members: [variants], method}; in <output_dir>/<name>/<ensemble>.",
        default_factory=dict,
    )

    def __post_init__(self) -> None:
        check_run_name("name", self.name)
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds: expected distinct seeds, got {list(self.seeds)}")
        if self.seeds and "seed" in self.sweep:
            raise ConfigError("sweep.seed: a study's seeds are set by `seeds:`; remove seed from the sweep grid")
        for key, values in self.sweep.items():
            if not isinstance(values, list) or not values:
                raise ConfigError(f"sweep.{key}: expected a non-empty list of values")
        for name, overrides in self.variants.items():
            check_run_name(f"variants.{name}", name)
            if not isinstance(overrides, dict):
                raise ConfigError(f"variants.{name}: expected a mapping of {{dotted key: value}} overrides")
        for index, stage in enumerate(self.intermediate):
            check_stage(index, stage)
        self._check_ensembles()

    def _check_ensembles(self) -> None:
        """Each ensemble has a run name and at least two distinct members, which are variants where there are any."""
        for name, ensemble in self.ensembles.items():
            check_run_name(f"ensembles.{name}", name)
            members, unknown = ensemble.members, [m for m in ensemble.members if m not in self.variants]
            if name in self.variants or not (self.variants or self.sweep):
                raise ConfigError(f"ensembles.{name}: ensembles combine variants or sweep members under other names")
            if len(set(members)) < 2 or len(set(members)) != len(members):
                raise ConfigError(f"ensembles.{name}.members: expected two or more distinct names, got {list(members)}")
            if self.variants and unknown:
                raise ConfigError(f"ensembles.{name}.members: {', '.join(unknown)} not among the variants")

    @property
    def is_sweep(self) -> bool:
        """True if the config describes several runs (a grid, variants and/or seeds)."""
        return bool(self.sweep or self.variants or self.seeds or self.diversity.enabled)
