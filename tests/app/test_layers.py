"""The app's layers import one way: views -> panels -> ui -> services -> components. Only services touch db and
engine; components draw domain objects they are handed (engine types only for type checking). As pages never
import db, every `services.<module>.<name>` they use must exist there (a re-export an unused-import fix dropped
fails only when the page runs that line)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.paths import ROOT

APP = ROOT / "app"
# layer -> the top-level names (app layers, db, engine) it must never import at run time
FORBIDDEN = {
    "components": {"app.services", "app.ui", "app.views", "app.state", "app.panels", "db", "engine"},
    "panels": {"app.views", "db", "engine"},
    "services": {"app.ui", "app.views", "app.panels"},
    "state": {"app.ui", "app.views", "app.panels", "db", "engine"},
    "ui": {"app.views", "app.panels", "db", "engine"},
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


def service_names(source: str) -> set[tuple[str, str]]:
    """Every (module, name) that `source` reads as `services.<module>.<name>`."""
    return {(node.value.attr, node.attr) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
            and isinstance(node.value.value, ast.Name) and node.value.value.id == "services"}


def test_every_service_name_the_pages_use_exists() -> None:
    pytest.importorskip("streamlit")
    from app import services  # noqa: PLC0415 - only once streamlit is known to be there

    used = {(str(path.relative_to(ROOT)), module, name) for path in sorted(APP.rglob("*.py"))
            if layer(path) != "services" for module, name in service_names(path.read_text(encoding="utf-8"))}
    assert used, "the scan found no service names at all"
    missing = [f"{where}: services.{module}.{name}" for where, module, name in sorted(used)
               if not hasattr(getattr(services, module, None), name)]
    assert missing == []


def test_the_name_check_reads_attribute_chains() -> None:
    assert service_names("x = services.review.STATES\nservices.auth.login(a).b\n") == {
        ("review", "STATES"), ("auth", "login")}
