"""The store's fixtures: every store test runs on a fresh SQLite file, and again on PostgreSQL when
DOCRE_TEST_POSTGRES_URL names a server (`export DOCRE_TEST_POSTGRES_URL=$(bash scripts/start_postgres.sh)`)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from db.store.session import init_db, make_engine, session_factory
from tests.db_support import POSTGRES_ENV, reset_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, no schema yet."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} not set (export {POSTGRES_ENV}=$(bash scripts/start_postgres.sh))")
    reset_postgres(url)
    return url


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """The database migrated to head."""
    engine = make_engine(db_url)
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(db_engine: Engine) -> sessionmaker[Session]:
    return session_factory(db_engine)
