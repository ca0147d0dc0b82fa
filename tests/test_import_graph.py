"""No import cycle between veil's modules (the CLI and the worker included).

The graph is what runs at import time: module-level imports and those in class bodies and
plain `if`/`try` blocks; imports inside functions and under `if TYPE_CHECKING:` are left out
(they run later, or never). Importing `a.b.c` also runs `a.b`'s `__init__`, so that is an edge
too, except from a module inside `a.b` (its packages are already being imported).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import veil

ROOT = Path(veil.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in ROOT.rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_nodes(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _import_time_nodes(node.body)
            yield from _import_time_nodes(node.orelse)
        elif isinstance(node, ast.ClassDef | ast.With):
            yield from _import_time_nodes(node.body)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _import_time_nodes(block)
            for handler in node.handlers:
                yield from _import_time_nodes(handler.body)


def _with_parents(name: str, known: dict[str, Path]) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & known.keys()


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_time_nodes(ast.parse(path.read_text()).body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= _with_parents(alias.name, known)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            base = ".".join(anchor + ([base] if base else []))
        found |= _with_parents(base, known)
        for alias in node.names:
            found |= _with_parents(f"{base}.{alias.name}", known)
    # A module's own packages are being imported already when it runs: not an edge.
    return found - _with_parents(name, known)


def import_graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path [a, b, …, a], or None (iterative DFS, three colours)."""
    colour = dict.fromkeys(graph, 0)  # 0 unseen, 1 on the stack, 2 done
    for start in sorted(graph):
        if colour[start]:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        colour[start] = 1
        while stack:
            node, successors = stack[-1]
            for nxt in successors:
                if colour[nxt] == 1:
                    path = [n for n, _ in stack]
                    return [*path[path.index(nxt) :], nxt]
                if colour[nxt] == 0:
                    colour[nxt] = 1
                    stack.append((nxt, iter(sorted(graph[nxt]))))
                    break
            else:
                colour[node] = 2
                stack.pop()
    return None


def test_the_finder_sees_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_covers_the_entry_points() -> None:
    graph = import_graph()
    assert "veil.cli.common" in graph["veil.cli.exports"]
    assert "veil.cli.main" not in set().union(*graph.values())
    assert graph["veil.tasks"] >= {"veil.compliance.tasks", "veil.integrations.tasks"}


def test_no_import_cycle_between_veil_modules() -> None:
    assert find_cycle(import_graph()) is None


def test_the_worker_package_imports_no_feature() -> None:
    graph = import_graph()
    features = ("veil.compliance", "veil.integrations", "veil.profiles", "veil.events")
    for name, targets in graph.items():
        if name.startswith("veil.worker"):
            assert not [t for t in targets if t.startswith(features)], name
