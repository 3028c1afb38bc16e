"""The engine's stages import one way (data <- model <- serve <- train, curate <- cli) and no module imports
one that imports it back: a newcomer can read each stage knowing only the ones below it."""
from __future__ import annotations

from tests.import_graph import find_cycle, graph
from tests.paths import ROOT

ENGINE = ROOT / "engine"
# The root modules every stage may use; then each stage's rank: a module may import its own stage or a lower rank.
ROOT_MODULES = {"engine", "engine.errors", "engine.settings", "engine.config", "engine.version", "engine.file_modes"}
RANK = {"root": 0, "data": 1, "model": 2, "serve": 3, "train": 4, "curate": 4, "cli": 5, "__main__": 6}


def stage(module: str) -> str:
    if module in ROOT_MODULES:
        return "root"
    return module.split(".")[1]


def engine_graph() -> dict[str, set[str]]:
    return graph(ENGINE, packages=("engine",))


def test_stages_import_downwards_only() -> None:
    upward = []
    for module, targets in engine_graph().items():
        for target in targets:
            a, b = stage(module), stage(target)
            if a != b and RANK[b] >= RANK[a]:
                upward.append(f"{module} ({a}) imports {target} ({b})")
    assert not upward, "imports against the stage order:\n" + "\n".join(sorted(upward))


def test_no_module_imports_one_that_imports_it_back() -> None:
    cycle = find_cycle(engine_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_checks_can_fail() -> None:
    """The checks themselves: a cycle and an upward import are found when present."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert RANK[stage("engine.data.documents")] < RANK[stage("engine.model.encoder")]
    assert stage("engine.errors") == "root"
