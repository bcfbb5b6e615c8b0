"""The house stays as it is: no room grows past what one person reads in a sitting, and imports
flow one way (docs/architecture.md).  Read with ``ast``; nothing is imported or run."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gobuild_lambda"

MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 80
MAX_CLASS_LINES = 250
# A file that needs more room, by decision, with its own ceiling: {"path.py": {"file": N, ...}}.
# None now (cli.py, the last one, became the cli/ package: one module per group of commands).
EXCEPTIONS: dict[str, dict[str, int]] = {}


def _modules() -> dict[str, Path]:
    out = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        parts = f.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def _limits(path: Path) -> dict[str, int]:
    rel = path.relative_to(PACKAGE).as_posix()
    return EXCEPTIONS.get(rel, {"file": MAX_FILE_LINES, "function": MAX_FUNCTION_LINES, "class": MAX_CLASS_LINES})


def test_no_file_function_or_class_is_too_big():
    too_big = []
    for path in _modules().values():
        limits = _limits(path)
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(PACKAGE).as_posix()
        if len(text.splitlines()) > limits["file"]:
            too_big.append(f"{rel}: {len(text.splitlines())} lines (at most {limits['file']})")
        for node in ast.walk(ast.parse(text)):
            kind = ("function" if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    else "class" if isinstance(node, ast.ClassDef) else None)
            if kind is None:
                continue
            size = node.end_lineno - node.lineno + 1
            if size > limits[kind]:
                too_big.append(f"{rel}:{node.lineno} {kind} {node.name}: {size} lines (at most {limits[kind]})")
    assert not too_big, "split these (docs/architecture.md says where things go):\n" + "\n".join(too_big)


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the gobuild_lambda modules it imports, at import time or inside a function."""
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # `if TYPE_CHECKING:` imports never run: they name types, they are no dependency.
        typing_only = {id(n) for block in ast.walk(tree)
                       if isinstance(block, ast.If) and isinstance(block.test, ast.Name)
                       and block.test.id == "TYPE_CHECKING"
                       for stmt in block.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = package
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    base = f"{base}.{node.module}" if node.module else base
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    found.add(target if target in modules else base)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_imports_flow_one_way():
    graph = _imports(_modules())
    assert len(graph) > 40 and "gobuild_lambda.manifest" in graph["gobuild_lambda.pipeline"]
    cycles = _cycles(graph)
    assert not cycles, f"modules that import each other (directly or around a loop): {cycles}"


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
