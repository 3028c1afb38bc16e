"""Engines, sessions and migrations, built on request from a URL: nothing connects at import time.

Default store: `data/docre.sqlite` under DOCRE_DATA_DIR, with foreign keys enforced and WAL so readers
(the app) never block the writer; DOCRE_DATABASE_URL selects PostgreSQL (or any URL) instead."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from engine.settings import get_settings

from .models import guard_insert_only

logger = logging.getLogger(__name__)

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"
SQLITE_FILE = "docre.sqlite"
SQLITE_BUSY_SECONDS = 30  # how long a writer waits for another writer's lock before "database is locked"


def database_url(url: str | None = None) -> URL:
    """The URL to use: the argument, else DOCRE_DATABASE_URL, else the SQLite file under the data dir.

    A bare `postgresql://` (or `postgres://`) URL gets the installed psycopg 3 driver."""
    settings = get_settings()
    chosen = url or settings.database_url
    if chosen is None:
        return make_url(f"sqlite:///{(settings.data_dir / SQLITE_FILE).as_posix()}")
    parsed = make_url(chosen)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """A configured engine: SQLite gets foreign keys, WAL and a busy timeout; PostgreSQL gets pre-ping."""
    parsed = database_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(parsed, pool_pre_ping=True, **kwargs)
        logger.info("database: %s", parsed.render_as_string(hide_password=True))
        return engine
    in_memory = parsed.database in (None, "", ":memory:")
    if in_memory:  # one shared connection, or every session would see its own empty database
        kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    else:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_SECONDS})
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas(wal=not in_memory))
    logger.info("database: %s", parsed.render_as_string(hide_password=True))
    return engine


def _sqlite_pragmas(*, wal: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    return on_connect


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose loaded values stay readable after commit, and that refuse to edit reviews."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    event.listen(factory, "before_flush", guard_insert_only)
    return factory


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll everything back if it raises, always close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None) -> Any:
    """Alembic's config for db/store/migrations, usable from any working directory."""
    from alembic.config import Config  # noqa: PLC0415 - only migrations need alembic

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", database_url(url).render_as_string(hide_password=False).replace("%", "%%"))
    return config


def init_db(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest) by running the migrations on this engine."""
    from alembic import command  # noqa: PLC0415

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    logger.info("database schema at %s", revision)
