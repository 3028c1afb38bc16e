"""Errors with guidance (issue 27): a corrupt database file, a full disk and a server that does not answer give one
line naming the database and what to do, in the CLI (no traceback) and on the page (a status line, no generic
error); `python -m db check` is a readiness check that exits non-zero when the database cannot be read."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import event

from db import __main__ as db_cli
from db.store.session import init_db, make_engine
from tests.paths import ROOT, SHARED_DATA


def _db(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCRE_DATA_DIR": str(tmp_path)}
    env.pop("DOCRE_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "db", *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def corrupt(tmp_path: Path) -> str:
    path = tmp_path / "corrupt.sqlite"
    path.write_bytes(b"this is not a database " * 400)
    return f"sqlite:///{path}"


def test_a_corrupt_database_is_one_line_in_the_cli_and_fails_the_check(tmp_path: Path, corrupt: str) -> None:
    check = _db(tmp_path, "--url", corrupt, "check")
    users = _db(tmp_path, "--url", corrupt, "users")
    assert (check.returncode, users.returncode) == (1, 2)
    for done in (check, users):
        assert "Traceback" not in done.stderr, done.stderr[-2000:]
        assert f"database {corrupt}: the database is corrupt or not a database file: restore it" in done.stderr


def test_the_check_passes_on_a_readable_database(db_url, db_engine, capsys) -> None:
    assert db_cli.main(["--url", db_url, "check"]) == 0
    assert ": ok, schema at " in capsys.readouterr().out


def test_a_server_that_does_not_answer_fails_the_check(tmp_path: Path) -> None:
    done = _db(tmp_path, "--url", "postgresql://nobody@127.0.0.1:9/none", "check")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "the database server does not answer: start it, or fix DOCRE_DATABASE_URL" in done.stderr


def test_a_full_disk_during_an_import_is_one_line(tmp_path: Path, monkeypatch, caplog) -> None:
    """SQLite's max_page_count stands in for a full disk: the same SQLITE_FULL error a full file system gives."""
    url = f"sqlite:///{tmp_path / 'full.sqlite'}"
    init_db(make_engine(url))

    def full_engine(url_: str | None = None):  # noqa: ANN202
        engine = make_engine(url_)

        @event.listens_for(engine, "connect")
        def _cap(dbapi_connection, _record) -> None:  # noqa: ANN001
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 2}")

        return engine

    monkeypatch.setattr(db_cli, "make_engine", full_engine)
    caplog.set_level(logging.INFO)
    sample = SHARED_DATA / "redocred" / "dev_revised.json"
    assert db_cli.main(["--url", url, "import", str(sample), "--dataset", "big"]) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [f"database {url}: the disk is full: free space where the database lives, then retry (nothing "
                      "of the failed change was stored) (database or disk is full)"], errors


def test_the_page_shows_a_corrupt_database_as_a_status_line(corrupt: str, tmp_path: Path, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DOCRE_DATABASE_URL", corrupt)
    monkeypatch.setenv("DOCRE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DOCRE_AUTH", raising=False)
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        f"database {corrupt}: the database is corrupt or not a database file: restore it from a backup, or move it "
        "aside to start a new one (file is not a database)"]
