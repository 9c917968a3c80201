"""Task registry and the declarations of every supported task (importing this registers them)."""

from crossling.tasks.registry import TaskKind, TaskSpec, get_task, list_tasks, register_task

__all__ = ["TaskKind", "TaskSpec", "get_task", "list_tasks", "register_task"]
