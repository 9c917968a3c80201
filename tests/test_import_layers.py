"""Package layering: crossling's top-level packages import one way only (lazy imports inside functions included)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "crossling"

#: The declared order, lowest first: a package may import only packages listed before it. A new
#: top-level package or module must be placed here (the test fails until it is).
LAYERS = (
    "errors",
    "utils",
    "taskspec",
    "config",
    "data",
    "convert",
    "models",
    "training",
    "evaluation",
    "tasks",
    "analysis",
    "reports",
    "pipelines",
    "cli",
    "__main__",
)
RANK = {name: rank for rank, name in enumerate(LAYERS)}


def _module_parts(path: Path, root: Path) -> list[str]:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(path: Path, root: Path) -> Iterator[tuple[str, int]]:
    """``(dotted module, line)`` of every import in the file at ``path``, at any depth (lazy ones too)."""
    package = _module_parts(path, root) if path.name == "__init__.py" else _module_parts(path, root)[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield module, node.lineno
            if node.module is None or module == root.name:
                # ``from crossling import tasks`` imports the package named by the alias.
                for alias in node.names:
                    yield f"{module}.{alias.name}", node.lineno


def top_package(module: str, root_name: str) -> str | None:
    """``tasks`` for ``crossling.tasks.registry``; ``None`` for a module outside crossling or crossling itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == root_name else None


def package_edges(root: Path) -> dict[tuple[str, str], str]:
    """``(importer, imported) -> "file:line"`` of the first import between two different top-level packages."""
    edges: dict[tuple[str, str], str] = {}
    for path in sorted(root.rglob("*.py")):
        source = top_package(".".join(_module_parts(path, root)), root.name)
        if source is None:
            continue
        for module, line in imported_modules(path, root):
            target = top_package(module, root.name)
            if target is not None and target != source:
                edges.setdefault((source, target), f"{path.relative_to(root.parent)}:{line}")
    return edges


def find_cycle(edges: dict[tuple[str, str], str]) -> list[str] | None:
    """One cycle of the package graph as ``[a, b, ..., a]``, or ``None`` (depth-first search)."""
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def upward_imports(edges: dict[tuple[str, str], str]) -> list[str]:
    """``"a -> b (file:line)"`` for every import of a package at or above the importer's place in ``LAYERS``."""
    return [
        f"{source} -> {target} ({where})"
        for (source, target), where in sorted(edges.items())
        if RANK[target] >= RANK[source]
    ]


def test_every_top_level_package_has_a_place_in_the_declared_order():
    names = {
        p.stem if p.is_file() else p.name
        for p in SRC.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert names - set(LAYERS) == set(), "add the new package to LAYERS in tests/test_import_layers.py"


def test_no_import_cycle_between_top_level_packages():
    assert find_cycle(package_edges(SRC)) is None


def test_no_package_imports_one_above_it_in_the_declared_order():
    assert upward_imports(package_edges(SRC)) == []


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "crossling" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "crossling"


def test_a_lazy_import_inside_a_function_closes_a_cycle(tmp_path):
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "data/__init__.py": "",
            "tasks/__init__.py": "",
            "data/features.py": "def f():\n    from crossling.tasks.registry import get_task\n",
            "tasks/registry.py": "from crossling.data import features\n",
        },
    )
    edges = package_edges(root)
    assert edges[("data", "tasks")] == "crossling/data/features.py:2"
    assert find_cycle(edges) == ["data", "tasks", "data"]
    assert upward_imports(edges) == ["data -> tasks (crossling/data/features.py:2)"]


@pytest.mark.parametrize(
    "statement",
    ["from ..tasks import registry", "from .. import tasks", "import crossling.tasks", "from crossling import tasks"],
)
def test_every_import_form_counts(tmp_path, statement):
    root = _write(
        tmp_path,
        {"__init__.py": "", "data/__init__.py": "", "tasks/__init__.py": "", "data/features.py": statement + "\n"},
    )
    assert set(package_edges(root)) == {("data", "tasks")}
