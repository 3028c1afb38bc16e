"""The app tests' fixtures: the tiny models, an empty database, and a database seeded once per module (three real
documents plus a hostile one, scored by two tiny random models) that each test gets a private copy of."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import services
from tests.app_support import FakeBrowser, hostile_document, small_labelled


@pytest.fixture(scope="module")
def models_dir(tiny_models_dir: Path) -> Path:
    return tiny_models_dir


@pytest.fixture(scope="module")
def sample_docs(redocred_docs) -> list:
    return small_labelled(list(redocred_docs), 3)


@pytest.fixture(scope="module")
def seeded_db(models_dir: Path, sample_docs: list, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding dataset "seed": the sample documents and the hostile one, scored by both models."""
    from db.store.session import init_db, make_engine, session_factory
    from db.workflows.scoring import score_documents
    from engine.serve.predictor import Predictor

    path = tmp_path_factory.mktemp("seed") / "seed.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    factory = session_factory(engine)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOCRE_DATABASE_URL", f"sqlite:///{path}")
        dataset_id, result = services.documents.store_upload("seed", [*sample_docs, hostile_document()])
    models = [(str(models_dir / n), Predictor.from_checkpoint(models_dir / n, "cpu")) for n in ("tiny", "tiny2")]
    score_documents(factory, dataset_id, list(result.added), models)
    engine.dispose()
    return path


@pytest.fixture
def env(models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty database and the tiny models."""
    monkeypatch.setenv("DOCRE_DATABASE_URL", f"sqlite:///{tmp_path / 'app.sqlite'}")
    monkeypatch.setenv("DOCRE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DOCRE_MODELS_DIR", str(models_dir))
    monkeypatch.delenv("DOCRE_AUTH", raising=False)
    return tmp_path


@pytest.fixture
def seeded(env: Path, seeded_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private copy of the seeded database."""
    copy = env / "seeded.sqlite"
    with sqlite3.connect(seeded_db) as source, sqlite3.connect(copy) as target:
        source.backup(target)  # reads through the write-ahead log, unlike a file copy
    monkeypatch.setenv("DOCRE_DATABASE_URL", f"sqlite:///{copy}")
    yield copy


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> FakeBrowser:
    """A stand-in browser for team-mode pages: it keeps the sign-in cookie the app hands it (AppTest has none)."""
    return FakeBrowser().install(monkeypatch)


@pytest.fixture
def team_roles(seeded: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple[str, str], ...]:
    """Team mode on the seeded store with annotator dan and curator carol: (name, role), annotator first, for the
    tests that check a curator-only control page by page."""
    from db import accounts  # noqa: PLC0415 - the store only for the tests that sign in

    with services.resources.session() as s:
        accounts.create_user(s, "carol", "curator", "a long enough passphrase")
        accounts.create_user(s, "dan", "annotator", "a long enough passphrase")
    monkeypatch.setenv("DOCRE_AUTH", "on")
    return (("dan", "annotator"), ("carol", "curator"))
