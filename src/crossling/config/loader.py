"""Load, validate, override and serialise experiment configs (YAML) against the dataclass schema."""

from __future__ import annotations

import contextlib
import contextvars
import copy
import dataclasses
import difflib
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

import yaml

from crossling.config.schema import ExperimentConfig, TaskConfig
from crossling.config.selection import TaskLanguages, raw_task_sections, resolve_selections
from crossling.errors import ConfigError

T = TypeVar("T")


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin is tuple:
        return f"a list of {_type_name(get_args(tp)[0])}"
    if origin in (list,):
        return "a list"
    if origin is dict:
        return "a mapping"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against annotation ``tp`` and convert it (lists -> tuples, str -> Path)."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, key)
            except ConfigError as exc:
                errors.append(exc)
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value not in get_args(tp):
            near = difflib.get_close_matches(str(value), [str(a) for a in get_args(tp)], n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}{hint}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, prefix=key)
    if origin is tuple:
        if isinstance(value, str) and get_args(tp)[0] is str:
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
        item_type = get_args(tp)[0]
        return tuple(_convert(item, item_type, f"{key}[{i}]") for i, item in enumerate(value))
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return list(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        item_type = get_args(tp)[1] if get_args(tp) else Any
        if dataclasses.is_dataclass(item_type):
            return {k: _convert(v, item_type, f"{key}.{k}") for k, v in value.items()}
        return dict(value)
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            # YAML 1.1 reads 2e-5 as a string; accept numeric strings for floats.
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    pass
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    if tp is Path:
        if not isinstance(value, (str, Path)):
            raise ConfigError(f"{key}: expected a path, got {value!r}")
        return Path(value).expanduser()
    raise ConfigError(f"{key}: unsupported type {tp!r}")


def from_dict(cls: type[T], data: Any, *, prefix: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and wrong types with the dotted key."""
    where = prefix or "config"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {data!r}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if key not in fields:
            near = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean {prefix + '.' if prefix else ''}{near[0]}?" if near else ""
            raise ConfigError(f"unknown key {dotted!r}{hint} (valid: {', '.join(fields)})")
        kwargs[key] = _convert(value, hints[key], dotted)
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def to_dict(config: Any) -> Any:
    """Plain YAML/JSON-friendly data of a config (Paths become strings, tuples lists)."""
    if dataclasses.is_dataclass(config):
        return {f.name: to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, (list, tuple)):
        return [to_dict(v) for v in config]
    if isinstance(config, dict):
        return {k: to_dict(v) for k, v in config.items()}
    if isinstance(config, Path):
        return str(config)
    return config


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"override {dotted!r}: {part!r} is not a section")
        node = child
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """Parse a ``key.sub=value`` override; the value is read as YAML (``3e-5``, ``[en, de]``, ``true``)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r}: expected KEY=VALUE, e.g. training.learning_rate=3e-5")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {text!r}: value is not valid YAML ({exc.problem})") from None
    return key.strip(), value


def apply_overrides(data: dict[str, Any], overrides: list[tuple[str, Any]]) -> dict[str, Any]:
    """Return a deep copy of raw config ``data`` with dotted-key ``overrides`` applied."""
    out = copy.deepcopy(data) if data else {}
    for key, value in overrides:
        _set_dotted(out, key, value)
    return out


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key repeated in one mapping is an error (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Refuse a repeated key, naming it and the line of its first occurrence."""
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str) and key in first:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first on line {first[key] + 1}); keep one of them",
                    key_node.start_mark,
                )
            if isinstance(key, str):
                first[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def load_raw(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file into a mapping, with file/line in every error (a repeated key is one)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def build_config(
    data: dict[str, Any], *, source: str = "config", task_languages: TaskLanguages | None = None
) -> ExperimentConfig:
    """Validate raw ``data`` into an ``ExperimentConfig``; checks that referenced paths exist.

    Nearest/farthest ``train_languages`` rules are resolved here (``crossling.config.selection``);
    ``task_languages`` (a task name -> its languages, from the task registry) supplies a rule's
    default ``from``.
    """
    try:
        data = resolve_selections(data, default_task=TaskConfig().name, task_languages=task_languages)
        config = from_dict(ExperimentConfig, data)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    _check_paths(config, source)
    return config


def _resolve_data_dirs(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """``raw`` with every relative ``task.data_dir`` (target and intermediate) made relative to ``base``.

    A config names its data as seen from the file, so it loads from any working directory; the
    same holds for the task sections a variant overrides (``task``, ``task.data_dir``, ``intermediate``).
    """
    variants = [v for v in (raw.get("variants") or {}).values() if isinstance(v, dict)]
    for holder in [raw, *variants]:
        sections = _raw_task_sections(holder)
        if isinstance(holder.get("task.data_dir"), str):
            sections.append(holder)
        for section in sections:
            key = "data_dir" if section is not holder else "task.data_dir"
            if isinstance(section, dict) and isinstance(section.get(key), str):
                data_dir = Path(section[key]).expanduser()
                if not data_dir.is_absolute():
                    section[key] = str((base / data_dir).resolve())
    return raw


def _raw_task_sections(raw: dict[str, Any]) -> list[Any]:
    """Every task section of raw config data: the target, the intermediate stages' and mixtures', the diversity pool."""
    return [section for _, section in raw_task_sections(raw)]


def load_config(
    path: str | Path, overrides: list[str] | None = None, *, task_languages: TaskLanguages | None = None
) -> ExperimentConfig:
    """Load a YAML experiment config, apply ``KEY=VALUE`` overrides, and validate it.

    A relative ``data_dir`` in the file is relative to the file's directory; one given in an
    override is relative to the working directory, as a command-line path is. ``task_languages``:
    see ``build_config``.
    """
    raw = _resolve_data_dirs(load_raw(path), Path(path).resolve().parent)
    raw = apply_overrides(raw, [parse_override(o) for o in overrides or []])
    return build_config(raw, source=str(path), task_languages=task_languages)


#: Set by ``data_may_be_absent``: a missing ``data_dir`` is no error (a plan counts such data from a size table).
_DATA_MAY_BE_ABSENT: contextvars.ContextVar[bool] = contextvars.ContextVar("data_may_be_absent", default=False)


@contextlib.contextmanager
def data_may_be_absent() -> Iterator[None]:
    """Configs built inside this block may name ``data_dir``s that do not exist (``crossling plan``, nothing else)."""
    token = _DATA_MAY_BE_ABSENT.set(True)
    try:
        yield
    finally:
        _DATA_MAY_BE_ABSENT.reset(token)


def _check_paths(config: ExperimentConfig, source: str) -> None:
    if _DATA_MAY_BE_ABSENT.get():
        return
    tasks = [("task", config.task)] + [(f"intermediate[{i}].task", s.task) for i, s in enumerate(config.intermediate)]
    tasks += [
        (f"intermediate[{i}].mixture[{j}].task", member.task)
        for i, stage in enumerate(config.intermediate)
        for j, member in enumerate(stage.mixture)
    ]
    tasks += [(f"diversity.pool[{i}]", task) for i, task in enumerate(config.diversity.pool)]
    for key, task in tasks:
        if task.data_dir is not None and not task.data_dir.is_dir():
            raise ConfigError(f"{source}: {key}.data_dir: directory not found: {task.data_dir}")


def dump_config(config: ExperimentConfig) -> str:
    """The resolved config as YAML text (what a run directory records)."""
    return yaml.safe_dump(to_dict(config), sort_keys=False, allow_unicode=True)


def replace_dotted(
    config: ExperimentConfig, assignments: dict[str, Any], *, task_languages: TaskLanguages | None = None
) -> ExperimentConfig:
    """A new config with dotted-key ``assignments`` applied (validated like a loaded file; see ``build_config``)."""
    raw = apply_overrides(to_dict(config), list(assignments.items()))
    return build_config(raw, task_languages=task_languages)


def describe_fields(cls: type = ExperimentConfig, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(dotted key, type, default, help) for every option, for docs and ``crossling config --help``.

    A list of sections (``intermediate``, ``intermediate[].mixture``) is a row of its own, then
    its items' keys as ``key[].sub``.
    """
    rows = []
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            rows.extend(describe_fields(tp, prefix=f"{key}."))
            continue
        item = get_args(tp)[0] if get_origin(tp) is tuple and get_args(tp) else None
        if item is not None and dataclasses.is_dataclass(item):
            rows.append((key, _type_name(tp), repr(to_dict(f.default)), f.metadata.get("help", "")))
            rows.extend(describe_fields(item, prefix=f"{key}[]."))
            continue
        if f.default is not dataclasses.MISSING:
            default = repr(to_dict(f.default))
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = repr(to_dict(f.default_factory()))  # type: ignore[misc]
        else:
            default = "required"
        rows.append((key, _type_name(tp), default, f.metadata.get("help", "")))
        item = get_args(tp)[1] if get_origin(tp) is dict and get_args(tp) else None
        if dataclasses.is_dataclass(item):  # a named mapping of sections (``ensembles``): each entry's keys
            rows.extend(describe_fields(item, prefix=f"{key}.<name>."))
    return rows
