"""No module anywhere in the repository imports one that imports it back, deferred (function-level) imports
included: a deferred import only hides a circle (as db/pipeline.py's did with db/learning.py)."""
from __future__ import annotations

from pathlib import Path

from tests.import_graph import find_cycle, graph
from tests.paths import ROOT


def test_no_import_circle_in_the_repository() -> None:
    cycle = find_cycle(graph(ROOT))
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_graph_reads_deferred_imports(tmp_path: Path) -> None:
    """The check itself fails on a circle that only a function-level import closes, as the old pipeline/learning
    pair did; a synthetic package under tmp_path keeps the repository out of it."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "pipeline.py").write_text("def keep():\n    from .learning import refit\n")
    (pkg / "learning.py").write_text("from .pipeline import keep\n")
    synthetic = graph(tmp_path, packages=("pkg",), base=tmp_path)
    assert synthetic["pkg.pipeline"] == {"pkg.learning"}
    assert find_cycle(synthetic) == ["pkg.learning", "pkg.pipeline", "pkg.learning"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
