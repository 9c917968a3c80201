"""Task registry and the declarations of every supported task (importing this registers them)."""

from crossling.tasks.registry import get_task, list_tasks, register_task

# Declarations register themselves on import.
import crossling.tasks.xtreme  # noqa: E402,F401  isort: skip
import crossling.tasks.template  # noqa: E402,F401  isort: skip
import crossling.tasks.xtreme_qa  # noqa: E402,F401  isort: skip
import crossling.tasks.xtreme_choice  # noqa: E402,F401  isort: skip
import crossling.tasks.xtreme_tagging  # noqa: E402,F401  isort: skip
import crossling.tasks.xtreme_retrieval  # noqa: E402,F401  isort: skip
import crossling.tasks.captions  # noqa: E402,F401  isort: skip

__all__ = ["get_task", "list_tasks", "register_task"]
