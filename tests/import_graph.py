"""The project's import graph read from source (ast), function-level (deferred) imports included, for the layer
and circle tests: a deferred import still makes two modules depend on each other, it only hides it."""
from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from tests.paths import ROOT

PACKAGES = ("engine", "db", "app", "tests", "bench", "scripts")  # first-party top-level names


def module_name(path: Path, base: Path = ROOT) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str, base: Path) -> bool:
    path = base / Path(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imports_of(path: Path, packages: Iterable[str] = PACKAGES, base: Path = ROOT) -> set[str]:
    """Every first-party module this file names in an import, lazy ones inside functions included. A parent
    package that Python runs on the way to a sub-module is not counted: `from ..store import models` depends on
    `db.store.models`, not on the `db.store` facade."""
    wanted = set(packages)
    module = module_name(path, base)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] in wanted)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                head = parts[: len(parts) - (node.level - 1)]
                target = ".".join(head + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] not in wanted:
                continue
            for alias in node.names:  # `from pkg import sub` names a sub-module when one exists
                sub = f"{target}.{alias.name}"
                found.add(sub if _is_module(sub, base) else target)
    found.discard(module)
    return found


def graph(root: Path, packages: Iterable[str] = PACKAGES, base: Path = ROOT) -> dict[str, set[str]]:
    """{module: the first-party modules it imports} for every .py file under `root` (names relative to `base`,
    the directory on sys.path)."""
    return {module_name(p, base): imports_of(p, packages, base) for p in sorted(root.rglob("*.py"))
            if ".venv" not in p.parts and "__pycache__" not in p.parts}


def find_cycle(graph_: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None."""
    colour: dict[str, int] = defaultdict(int)  # 0 new, 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        stack.append(node)
        for nxt in sorted(graph_.get(node, ())):
            if colour[nxt] == 1:
                return stack[stack.index(nxt):] + [nxt]
            if colour[nxt] == 0 and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        colour[node] = 2
        return None

    for node in sorted(graph_):
        if colour[node] == 0 and (cycle := visit(node)):
            return cycle
    return None
