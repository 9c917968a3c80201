"""The task registry: every declared ``TaskSpec`` (``crossling.taskspec``) by name."""

from __future__ import annotations

import difflib

from crossling.errors import ConfigError
from crossling.taskspec import TaskSpec

_TASKS: dict[str, TaskSpec] = {}


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add ``spec`` to the registry (names are unique)."""
    if spec.name in _TASKS:
        raise ValueError(f"task {spec.name!r} is already registered")
    _TASKS[spec.name] = spec
    return spec


def get_task(name: str) -> TaskSpec:
    """The registered task called ``name``; ``ConfigError`` with the nearest names otherwise."""
    _ensure_loaded()
    try:
        return _TASKS[name]
    except KeyError:
        near = difflib.get_close_matches(name, list(_TASKS), n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise ConfigError(f"unknown task {name!r}{hint} (see `crossling tasks`)") from None


def list_tasks() -> list[TaskSpec]:
    """All registered tasks, sorted by name."""
    _ensure_loaded()
    return [_TASKS[name] for name in sorted(_TASKS)]


def _ensure_loaded() -> None:
    # Declarations live in their own modules; importing the package registers them.
    import crossling.tasks  # noqa: F401
