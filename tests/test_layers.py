"""The package import graph has no cycle: each layer imports only the layers below it.

Module-level imports are read from the source (``if TYPE_CHECKING:`` blocks and imports inside
functions, which load lazily, are left out); a top-level module such as ``runtime.py`` is a
node of its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src" / "junction"


def _node(module: str) -> str:
    """``junction.pipeline.stream`` -> ``pipeline``; ``junction.runtime`` -> ``runtime``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _module_level_imports(tree: ast.Module) -> list[str]:
    found: list[str] = []
    for statement in tree.body:
        if isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test):
            continue
        if isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            found.append(statement.module)
        elif isinstance(statement, ast.Import):
            found.extend(alias.name for alias in statement.names)
    return [m for m in found if m.startswith("junction.")]


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in SOURCE.rglob("*.py"):
        relative = path.relative_to(SOURCE).with_suffix("")
        source = relative.parts[0]
        imports = _module_level_imports(ast.parse(path.read_text()))
        targets = {_node(m) for m in imports} - {source}
        graph.setdefault(source, set()).update(targets)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path (first node repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if state.get(target) is None and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_package_import_graph_has_no_cycle() -> None:
    graph = package_graph()
    assert {"core", "config", "pipeline", "dataplane", "routing"} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between packages: " + " -> ".join(cycle or [])


def test_the_core_imports_nothing_above_it() -> None:
    graph = package_graph()
    assert graph["core"] <= {"errors", "config"}, graph["core"]
    assert "dataplane" not in graph["pipeline"], "front doors plug into the pipeline, not back"
