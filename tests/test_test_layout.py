"""The tests' own layout: fixtures are shared through conftest.py, so no test module imports from another test
module and support modules (tests/**/*_support.py) hold helpers, never fixtures."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.paths import ROOT

TESTS = ROOT / "tests"


def _imported_modules(source: str, module: str) -> list[str]:
    """Every module an `import` or `from ... import` names, with relative imports resolved against `module`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = module.split(".")[: -node.level] if node.level else []
            name = ".".join([*base, node.module or ""]).strip(".")
            found += [name] + [f"{name}.{alias.name}" for alias in node.names]
    return found


def imported_test_modules(source: str, module: str) -> list[str]:
    """Test modules (tests/**/test_*.py) that `source`, the text of `module`, imports."""
    return [name for name in _imported_modules(source, module)
            if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")]


def _fixtures(source: str) -> list[str]:
    """Names of the functions decorated with a pytest fixture in `source`."""
    def is_fixture(decorator: ast.expr) -> bool:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        return isinstance(target, ast.Attribute) and target.attr == "fixture"

    return [node.name for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef) and any(is_fixture(d) for d in node.decorator_list)]


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_the_checks_can_fail() -> None:
    assert imported_test_modules("from tests.app.views.test_pages import seeded\n", "tests.app.test_x") == [
        "tests.app.views.test_pages"]
    assert imported_test_modules("from .test_documents import tiny_doc\n", "tests.engine.data.test_streaming") == [
        "tests.engine.data.test_documents"]
    assert imported_test_modules("from tests.engine.curate import test_ranker\n", "tests.db.test_x") == [
        "tests.engine.curate.test_ranker"]
    assert _fixtures("import pytest\n@pytest.fixture(scope='module')\ndef env(): ...\n") == ["env"]


def test_no_test_module_imports_another_test_module() -> None:
    offenders = {_module(p): imported_test_modules(p.read_text(encoding="utf-8"), _module(p))
                 for p in sorted(TESTS.rglob("*.py"))}
    assert {m: names for m, names in offenders.items() if names} == {}


def test_support_modules_define_no_fixtures() -> None:
    offenders = {_module(p): _fixtures(p.read_text(encoding="utf-8")) for p in sorted(TESTS.rglob("*_support.py"))}
    assert {m: names for m, names in offenders.items() if names} == {}


# A test folder beside a package's sub-packages holds only its cross-cutting tests (layers, architecture).
MIRRORED = {"app": ("test_layers.py",), "db": ("test_db_layers.py",)}


def misplaced_tests(tests_dir: Path, package_dir: Path, allowed_loose: tuple[str, ...]) -> list[str]:
    """Test files under `tests_dir` that do not sit in a folder named after a sub-package of `package_dir`, so a
    newcomer finds the tests of `app/views/review.py` under `tests/app/views/` and nowhere else."""
    packages = {p.name for p in package_dir.iterdir() if p.is_dir() and any(p.glob("*.py"))}  # views/ is no package
    found = []
    for path in sorted(tests_dir.rglob("test_*.py")):
        parts = path.relative_to(tests_dir).parts
        if len(parts) == 1 and parts[0] in allowed_loose:
            continue
        if len(parts) == 1 or parts[0] not in packages:
            found.append(str(path.relative_to(tests_dir)))
    return found


def test_the_mirror_check_can_fail(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "views").mkdir(parents=True)
    (tmp_path / "pkg" / "views" / "review.py").write_text("")
    (tmp_path / "tests" / "views").mkdir(parents=True)
    for name in ("tests/test_issue16.py", "tests/views/test_review.py", "tests/test_layers.py"):
        (tmp_path / name).write_text("")
    (tmp_path / "tests" / "stray").mkdir()
    (tmp_path / "tests" / "stray" / "test_x.py").write_text("")
    assert misplaced_tests(tmp_path / "tests", tmp_path / "pkg", ("test_layers.py",)) == [
        "stray/test_x.py", "test_issue16.py"]


def test_app_and_db_tests_mirror_their_packages() -> None:
    found = {name: misplaced_tests(TESTS / name, ROOT / name, loose) for name, loose in MIRRORED.items()}
    assert found == {"app": [], "db": []}
