"""db/ imports one way (store <- accounts, store <- workflows, all <- `python -m db`), and the store stays light:
a newcomer reads the store knowing nothing of models, and the app can list runs without loading torch."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.import_graph import graph
from tests.paths import ROOT

# Each layer may import its own layer or a lower one; accounts and workflows are siblings (neither imports the other).
RANK = {"db": 0, "store": 0, "accounts": 1, "workflows": 1, "__main__": 2}
# What the store must never load, directly or through engine: the heavy stages and libraries.
HEAVY = ("torch", "lightgbm", "engine.model", "engine.serve", "engine.curate", "streamlit")


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "db"


def layer_violations(graph_: dict[str, set[str]]) -> list[str]:
    """Every import in `graph_` from a db module to a db module of a higher or sibling layer, or to the app."""
    found = []
    for module, targets in graph_.items():
        for target in targets:
            if target.split(".")[0] == "app":
                found.append(f"{module} imports the app ({target})")
                continue
            if target.split(".")[0] != "db":
                continue
            a, b = layer(module), layer(target)
            if a != b and RANK[b] >= RANK[a]:
                found.append(f"{module} ({a}) imports {target} ({b})")
    return sorted(found)


def db_graph() -> dict[str, set[str]]:
    return graph(ROOT / "db", packages=("db", "app"))


def test_db_layers_import_downwards_only() -> None:
    violations = layer_violations(db_graph())
    assert not violations, "imports against the layer order store <- accounts, store <- workflows:\n" + \
        "\n".join(violations)


def test_no_query_module_at_the_top_of_db() -> None:
    loose = sorted(p.name for p in (ROOT / "db").glob("*.py") if p.name not in {"__init__.py", "__main__.py"})
    assert not loose, f"modules outside the layers store/, accounts/, workflows/: {loose}"


def test_the_store_names_no_heavy_module_in_any_import() -> None:
    """Read from source, deferred imports included (a deferred import of engine.curate is still a dependency)."""
    named = {f"{m} -> {t}" for m, targets in graph(ROOT / "db" / "store", packages=("engine", "torch", "lightgbm",
                                                                                         "streamlit")).items()
             for t in targets if t.startswith(HEAVY)}
    assert not named, f"the store imports heavy modules: {sorted(named)}"


def loaded_after(statement: str) -> list[str]:
    """The heavy modules a fresh interpreter has loaded after running `statement`."""
    code = (f"import json, sys\n{statement}\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({HEAVY!r}))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         timeout=120).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_importing_the_store_loads_no_torch_lightgbm_or_engine_stages() -> None:
    assert loaded_after("from db import store; from db.store import domain, models, session, queries") == []
    assert loaded_after("import db.accounts") == []


def test_checks_can_fail() -> None:
    """The checks themselves: an upward import, a sibling import and a heavy import are caught."""
    assert layer_violations({"db.store.queries.runs": {"db.workflows.scoring"}}) == [
        "db.store.queries.runs (store) imports db.workflows.scoring (workflows)"]
    assert layer_violations({"db.accounts.auth": {"db.workflows.uploads"}}) != []
    assert layer_violations({"db.store.session": {"app.services.resources"}}) != []
    assert layer_violations({"db.workflows.scoring": {"db.store.queries.runs"}}) == []
    assert "engine.serve.predictor" in loaded_after("import engine.serve.predictor")
