"""docs/architecture.md names only what exists: every dotted name in backticks imports, every bare class name
is found in a module the document names, and every path it gives is a file or directory. Drift fails here."""
from __future__ import annotations

import importlib
import re
from types import ModuleType

from tests.paths import ROOT

DOC = ROOT / "docs" / "architecture.md"
PACKAGES = ("engine", "db", "app")
NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def spans(text: str) -> list[str]:
    """Backticked spans outside fenced blocks; a call's arguments are dropped (`Predictor.predict(docs)`)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return [re.sub(r"\(.*$", "", s) for s in re.findall(r"`([^`\n]+)`", text)]


def resolve(dotted: str) -> ModuleType:
    """Import the longest module prefix of `dotted` and walk the rest as attributes; returns the module, raises
    when any part is missing."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        obj: object = module
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return module
    raise ModuleNotFoundError(dotted)


def problems(text: str) -> list[str]:
    found: list[str] = []
    names = [s for s in spans(text) if NAME.match(s)]
    modules: list[ModuleType] = []
    for name in names:
        if name.split(".")[0] in PACKAGES:
            try:
                modules.append(resolve(name))
            except (ImportError, AttributeError) as err:
                found.append(f"`{name}`: {err}")
    for name in names:
        head = name.split(".")[0]
        if head in PACKAGES or not head[:1].isupper():
            continue  # a dotted name above, or a word in code style (`store`, `forward`)
        owners = [m for m in modules if hasattr(m, head)]
        if not owners:
            found.append(f"`{name}`: no module the document names defines {head}")
            continue
        try:
            obj = getattr(owners[0], head)
            for attr in name.split(".")[1:]:
                obj = getattr(obj, attr) if hasattr(obj, attr) else obj.__dataclass_fields__[attr]
        except (AttributeError, KeyError) as err:
            found.append(f"`{name}`: {err!r}")
    for span in re.findall(r"`([^`\s]+/[^`\s]*)`", re.sub(r"```.*?```", "", text, flags=re.S)):
        if span.split("/")[0] in (*PACKAGES, "tests", "docs", "bench", "scripts") and not (ROOT / span).exists():
            found.append(f"`{span}`: no such path")
    return found


def test_every_name_in_the_architecture_doc_exists() -> None:
    assert problems(DOC.read_text(encoding="utf-8")) == []


def test_the_check_catches_a_drifted_name() -> None:
    text = ("`engine.model.methods.MethodHead` and `db.store_documents` and `BaselinePlusHead` and "
            "`db/store_documents.py` and `MethodSpec.no_such_field`, beside `engine.model.methods.RelationClassifier`"
            " and `engine.model.methods.MethodSpec`")
    assert [p.split(":")[0] for p in problems(text)] == [
        "`engine.model.methods.MethodHead`", "`db.store_documents`", "`BaselinePlusHead`",
        "`MethodSpec.no_such_field`", "`db/store_documents.py`"]
