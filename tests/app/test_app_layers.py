"""The app's layers import one way: views -> ui -> services -> components. Only services touch db and
engine; components draw domain objects they are handed (engine types only for type checking)."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.paths import ROOT

APP = ROOT / "app"
# layer -> the top-level names (app layers, db, engine) it must never import at run time
FORBIDDEN = {
    "components": {"app.services", "app.ui", "app.views", "app.state", "db", "engine"},
    "services": {"app.ui", "app.views"},
    "state": {"app.ui", "app.views", "db", "engine"},
    "ui": {"app.views", "db", "engine"},
    "views": {"db", "engine"},
}


def layer(path: Path) -> str:
    rel = path.relative_to(APP)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def runtime_imports(path: Path) -> set[str]:
    """Absolute names imported outside `if TYPE_CHECKING:` blocks (relative ones resolved within app/)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                names.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def violations() -> list[str]:
    found = []
    for path in sorted(APP.rglob("*.py")):
        banned = FORBIDDEN.get(layer(path), set())
        for name in sorted(runtime_imports(path)):
            if any(name == b or name.startswith(b + ".") for b in banned):
                found.append(f"{path.relative_to(ROOT)} ({layer(path)}) imports {name}")
    return found


def test_app_layers_import_downwards_only() -> None:
    assert violations() == []


def test_the_check_sees_a_forbidden_import(tmp_path, monkeypatch) -> None:
    bad = APP / "components" / "_layer_probe.py"
    bad.write_text("from app.services import review\n", encoding="utf-8")
    try:
        assert any("_layer_probe" in v for v in violations())
    finally:
        bad.unlink()
