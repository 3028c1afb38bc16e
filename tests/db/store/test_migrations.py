"""Migrations: one linear chain with date-first file names; upgrading revision by revision from an empty
database reaches a schema identical to the models (autogenerate finds nothing to do); downgrade undoes it."""
from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from db.store.models import Base
from db.store.session import alembic_config, init_db, make_engine

UNIQUE_POSITIONS = "5c1f0e7a9b34"
DATE_FIRST = re.compile(r"^\d{4}_\d{2}_\d{2}_\d{4}-[0-9a-f]+_\w+\.py$")


def chain() -> list[str]:
    """Revision ids from the first to the newest, asserting there is exactly one way through."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    (base,) = scripts.get_bases()
    (head,) = scripts.get_heads()
    order = [base]
    while order[-1] != head:
        (child,) = scripts.get_revision(order[-1]).nextrev  # no branch points
        order.append(child)
    assert len(order) == len(list(scripts.walk_revisions())), "revisions off the main line"
    for rev in scripts.walk_revisions():
        assert not isinstance(rev.down_revision, (tuple, list)), f"{rev.revision} is a merge"
        assert DATE_FIRST.match(Path(rev.path).name), f"{Path(rev.path).name}: name it YYYY_MM_DD_HHMM-rev_slug.py"
    return order


def test_revision_chain_is_linear_and_date_first() -> None:
    order = chain()
    assert order
    first = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(order[0])
    assert first.down_revision is None


def test_upgrade_step_by_step_matches_models_and_downgrades(db_url: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # migrations are found from any working directory
    engine = make_engine(db_url)
    try:
        for revision in chain():
            init_db(engine, revision)
            with engine.connect() as conn:
                assert MigrationContext.configure(conn).get_current_revision() == revision
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == [], diff
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        init_db(engine)  # and up again, as on a fresh install
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_positions_taken_twice_are_renumbered_in_upload_order(db_url: str) -> None:
    """Before unique positions, racing uploads could store two documents at one position: the upgrade renumbers
    them (position, then id) instead of failing on the new unique index."""
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from db.store import models as m

    engine = make_engine(db_url)
    try:
        scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
        init_db(engine, scripts.get_revision(UNIQUE_POSITIONS).down_revision)  # just before unique positions
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(insert(m.DatasetRow.__table__), [{"id": 1, "name": "a", "created_at": now},
                                                       {"id": 2, "name": "b", "created_at": now}])
            conn.execute(insert(m.DocumentRow.__table__), [
                {"id": i, "dataset_id": d, "position": p, "title": f"doc {i}", "content_hash": f"{i:064d}",
                 "sents": [], "extra": {}, "has_labels": False, "num_tokens": 0, "created_at": now}
                for i, d, p in ((1, 1, 0), (2, 1, 1), (3, 1, 1), (4, 1, 2), (5, 2, 0), (6, 2, 0))])
        init_db(engine)
        with engine.connect() as conn:
            rows = conn.execute(select(m.DocumentRow.id, m.DocumentRow.dataset_id, m.DocumentRow.position)
                                .order_by(m.DocumentRow.id)).tuples().all()
        assert rows == [(1, 1, 0), (2, 1, 1), (3, 1, 2), (4, 1, 3), (5, 2, 0), (6, 2, 1)]
    finally:
        engine.dispose()


FLAT_HEAD = "c9d4e6a1f3b8"  # the head of the flat db/ (before the layer split, session tokens and job suggestions)


def test_a_database_made_before_the_split_upgrades_and_keeps_its_rows(db_url: str) -> None:
    """A database at the head revision of the flat db/ (before the layer split, the session tokens and the job's
    `suggestions` column), holding an account, a login attempt, a dataset, a document and a finished scoring job,
    upgrades to today's head: the rows stay, the account is enabled at token version 0, the attempt loses its
    session id, the old job reads back through the store with no suggestion count, and a new job records one."""
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from db import store
    from db.store import models as m
    from db.store.session import session_factory, session_scope

    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert FLAT_HEAD in chain()[:-2], "the flat db/'s head must have later revisions to upgrade through"
    engine = make_engine(db_url)
    try:
        init_db(engine, FLAT_HEAD)
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.exec_driver_sql(  # raw SQL: the models' tables have columns this revision lacks
                "INSERT INTO annotators (name, role, password_hash, created_at) "
                "VALUES ('ann', 'curator', 'scrypt$1$1$1$AA==$AA==', CURRENT_TIMESTAMP)")
            conn.exec_driver_sql(
                "INSERT INTO login_attempts (name, client, session_id, outcome, created_at) "
                "VALUES ('ann', 'session:0f0e1d2c', '0f0e1d2c', 'failure', CURRENT_TIMESTAMP)")
            # ids from the database's own sequences (an explicit id would leave PostgreSQL's behind the rows)
            dataset_id = conn.execute(insert(m.DatasetRow.__table__).values(name="old", created_at=now)
                                      .returning(m.DatasetRow.id)).scalar_one()
            doc_id = conn.execute(insert(m.DocumentRow.__table__).values(
                dataset_id=dataset_id, position=0, title="doc 1", content_hash=f"{1:064d}", sents=[], extra={},
                has_labels=False, num_tokens=0, created_at=now).returning(m.DocumentRow.id)).scalar_one()
            job_id = conn.execute(insert(m.ScoringJobRow.__table__).values(
                dataset_id=dataset_id, document_ids=[doc_id], checkpoints=["m"], run_ids=[], requested_by="ann",
                status="done", done=1, total=1, created_at=now, finished_at=now)
                .returning(m.ScoringJobRow.id)).scalar_one()
        init_db(engine)
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == scripts.get_current_head()
            assert conn.execute(select(m.LoginAttemptRow.name, m.LoginAttemptRow.client)).all() == [("ann", "session")]
        factory = session_factory(engine)
        with session_scope(factory) as s:
            account = store.get_annotator(s, "ann")
            assert (account.role, account.has_password, account.enabled, account.token_version) == (
                "curator", True, True, 0)
            old = store.get_job(s, job_id)
            assert (old.status, old.document_ids, old.requested_by, old.suggestions) == ("done", (doc_id,), "ann", None)
            assert [d.title for d in store.list_documents(s, dataset_id)] == ["doc 1"]
            new = store.enqueue_job(s, dataset_id, [doc_id], ["m"], "bob")
            claimed = store.claim_job(s, new, "w")
            assert claimed is not None
            store.finish_job(s, new, "w", suggestions=7)
        with session_scope(factory) as s:
            assert store.get_job(s, new).suggestions == 7
    finally:
        engine.dispose()
