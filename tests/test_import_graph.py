"""zoo_core's import graph has no cycle: every import, function-level ones included, read with ast."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "zoo_core"


def _modules() -> dict[str, Path]:
    """zoo_core module name → file ('zoo_core.infer' is its __init__.py)."""
    out = {}
    for path in (ROOT / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The zoo_core modules `name` imports, wherever in the file the import statement is."""
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_pkg else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = {f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules}
            found |= subs or {target}
            if len(subs) < len(node.names):
                found.add(target)
    return {m for m in found if m in modules and m != name}


def graph() -> dict[str, set[str]]:
    """Module → the zoo_core modules it imports."""
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_walker_sees_function_level_and_relative_imports() -> None:
    edges = graph()
    assert "zoo_core.infer.shard" in edges["zoo_core.train.trainer"]  # module level, relative
    assert "zoo_core.infer.tiler" in edges["zoo_core.train.metrics"]  # inside a function
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_zoo_core_has_no_import_cycle() -> None:
    found = cycles(graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def _reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for w in edges.get(todo.pop(), ()):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def test_weights_is_a_plain_chain_that_never_looks_names_up() -> None:
    """zoo_core.weights gets architectures and formats passed in: it never reaches the registry, even indirectly."""
    edges = graph()
    weights = {m for m in edges if m.startswith("zoo_core.weights.")}
    assert {"zoo_core.weights.sources", "zoo_core.weights.resolve", "zoo_core.weights.hub"} <= weights
    inner = {m: edges[m] & weights for m in weights}
    assert not cycles(inner)
    for m in sorted(weights):
        assert "zoo_core.registry" not in _reachable(edges, m), m
    for source_module in ("zoo_core.weights.hub", "zoo_core.weights.upstream", "zoo_core.weights.cache"):
        assert not inner[source_module] & {"zoo_core.weights.hub", "zoo_core.weights.upstream",
                                           "zoo_core.weights.sources", "zoo_core.weights.resolve"}, source_module
