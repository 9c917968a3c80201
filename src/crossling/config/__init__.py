"""Experiment configuration: typed, validated, documented dataclasses loaded from YAML."""

from crossling.config.loader import (
    build_config,
    describe_fields,
    dump_config,
    load_config,
    parse_override,
    replace_dotted,
    to_dict,
)
from crossling.config.schema import (
    AggregationConfig,
    EvaluationConfig,
    ExperimentConfig,
    ModelConfig,
    StageConfig,
    TaskConfig,
    TrainingConfig,
)

__all__ = [
    "AggregationConfig",
    "EvaluationConfig",
    "ExperimentConfig",
    "ModelConfig",
    "StageConfig",
    "TaskConfig",
    "TrainingConfig",
    "build_config",
    "describe_fields",
    "dump_config",
    "load_config",
    "parse_override",
    "replace_dotted",
    "to_dict",
]
