"""Shared type aliases are defined once and imported everywhere else, so a change of shape happens in one place."""
from __future__ import annotations

import ast

from tests.paths import ROOT

PACKAGES = ("engine", "db", "app", "bench", "scripts")


def definitions(name: str, source: str) -> int:
    """How many module-level assignments or classes in `source` define `name`."""
    count = 0
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            count += 1
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        count += sum(isinstance(t, ast.Name) and t.id == name for t in targets)
    return count


def test_the_count_can_fail() -> None:
    assert definitions("Triple", "Triple = tuple[int, int, str]\nclass Triple: ...\n") == 2
    assert definitions("Triple", "from engine.data.documents import Triple\n") == 0


def test_triple_is_defined_once_in_engine_data_documents() -> None:
    found = {str(path.relative_to(ROOT)): n for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
             if (n := definitions("Triple", path.read_text(encoding="utf-8")))}
    assert found == {"engine/data/documents.py": 1}
