"""Whether the database can be used, said in one line that names it and what to do: a full disk, a corrupt or
unreadable SQLite file, or a PostgreSQL server that does not answer gave raw OperationalError / DatabaseError
tracebacks in the CLI and a generic error in the app (while /_stcore/health still answered "ok")."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .errors import StoreError
from .session import database_url, make_engine

# (words in the driver's message, what it means and what to do); the first match wins
_CAUSES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("disk is full", "no space left", "could not extend file", "disk full"),
     "the disk is full: free space where the database lives, then retry (nothing of the failed change was stored)"),
    (("file is not a database", "malformed", "corrupt"),
     "the database is corrupt or not a database file: restore it from a backup, or move it aside to start a new one"),
    (("unable to open database file", "readonly database", "permission denied"),
     "the database file cannot be opened or written: check the path (DOCRE_DATA_DIR, DOCRE_DATABASE_URL) and "
     "its permissions"),
    (("database is locked",),
     "the database is locked by another writer for too long: retry, or stop the process that holds it"),
    (("connection refused", "could not connect", "connection failed", "could not translate host name",
      "server closed the connection", "timeout expired"),
     "the database server does not answer: start it, or fix DOCRE_DATABASE_URL"),
    (("password authentication failed", "role", "does not exist"),
     "the database refused the login or names a database that does not exist: fix DOCRE_DATABASE_URL"),
)


class DatabaseUnavailableError(StoreError):
    """The database cannot be read or written; the message names it and says what to do."""


def database_name(url: str | None = None) -> str:
    """The database as users should see it (no password)."""
    return database_url(url).render_as_string(hide_password=True)


def describe(err: BaseException, url: str | None = None) -> str:
    """One line naming the database, what went wrong and what to do, for a driver error."""
    detail = str(getattr(err, "orig", None) or err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    low = detail.lower()
    cause = next((what for words, what in _CAUSES if any(w in low for w in words)),
                 "the database cannot be read or written; the server log has the details")
    return f"database {database_name(url)}: {cause} ({detail[:200]})"


def unavailable(err: DBAPIError, url: str | None = None) -> DatabaseUnavailableError:
    return DatabaseUnavailableError(describe(err, url))


def check_database(url: str | None = None) -> str:
    """Read the database (its schema revision, and on SQLite a quick integrity check); returns a one-line
    status, or raises DatabaseUnavailableError saying what is wrong. Readiness for `python -m db check`."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                verdict = conn.execute(text("PRAGMA quick_check")).scalar()
                if verdict != "ok":
                    raise DatabaseUnavailableError(f"database {database_name(url)}: {_CAUSES[1][1]} "
                                                   f"(quick_check: {str(verdict)[:200]})")
            has_schema = conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() if \
                engine.dialect.has_table(conn, "alembic_version") else 0
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar() if has_schema else None
    except DBAPIError as err:
        raise unavailable(err, url) from None
    finally:
        engine.dispose()
    return f"database {database_name(url)}: ok, " + (f"schema at {revision}" if revision
                                                     else "no schema yet (created on first use)")


def ping(session: Session) -> None:
    """A read that touches the database file or server (SELECT 1 alone would not open an SQLite file's pages)."""
    session.execute(text("SELECT version_num FROM alembic_version"))
