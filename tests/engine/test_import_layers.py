"""The engine's stages import one way (data <- model <- serve <- train, curate <- cli) and no module imports
one that imports it back: a newcomer can read each stage knowing only the ones below it."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.paths import ROOT

ENGINE = ROOT / "engine"
# The root modules every stage may use; then each stage's rank: a module may import its own stage or a lower rank.
ROOT_MODULES = {"engine", "engine.errors", "engine.settings", "engine.config", "engine.version"}
RANK = {"root": 0, "data": 1, "model": 2, "serve": 3, "train": 4, "curate": 4, "cli": 5, "__main__": 6}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage(module: str) -> str:
    if module in ROOT_MODULES:
        return "root"
    return module.split(".")[1]


def imports_of(path: Path) -> set[str]:
    """Every engine module this file names in an import, lazy ones inside functions included."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "engine")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "engine":
                continue
            # `from pkg import sub` names a sub-module when one exists
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if (ENGINE.parent / Path(*sub.split("."))).with_suffix(".py").exists()
                          or (ENGINE.parent / Path(*sub.split(".")) / "__init__.py").exists() else target)
    found.discard(module)
    return found


def engine_graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in ENGINE.rglob("*.py")}


def test_stages_import_downwards_only() -> None:
    upward = []
    for module, targets in engine_graph().items():
        for target in targets:
            a, b = stage(module), stage(target)
            if a != b and RANK[b] >= RANK[a]:
                upward.append(f"{module} ({a}) imports {target} ({b})")
    assert not upward, "imports against the stage order:\n" + "\n".join(sorted(upward))


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    colour: dict[str, int] = defaultdict(int)  # 0 new, 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if colour[nxt] == 1:
                return stack[stack.index(nxt):] + [nxt]
            if colour[nxt] == 0 and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        colour[node] = 2
        return None

    for node in sorted(graph):
        if colour[node] == 0 and (cycle := visit(node)):
            return cycle
    return None


def test_no_module_imports_one_that_imports_it_back() -> None:
    cycle = find_cycle(engine_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_checks_can_fail() -> None:
    """The checks themselves: a cycle and an upward import are found when present."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert RANK[stage("engine.data.documents")] < RANK[stage("engine.model.encoder")]
    assert stage("engine.errors") == "root"
