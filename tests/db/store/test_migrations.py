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


ONE_RUN_PER_MODEL = "31d7dee0a0b6"


def test_several_runs_of_one_model_merge_into_the_newest(db_url: str) -> None:
    """A database from before one run per model holds three runs of one model on dataset A (scores on shared
    and distinct documents, suggestion sources, jobs naming them) and two on dataset B, beside single runs of
    other models: the upgrade keeps the newest run of each model, with the newest scores and source of each
    document and suggestion, the summed seconds and the earliest creation time, and jobs name it in place."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert, select

    from db import store
    from db.store import models as m
    from db.store.session import session_factory, session_scope

    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    engine = make_engine(db_url)
    t0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
    try:
        init_db(engine, scripts.get_revision(ONE_RUN_PER_MODEL).down_revision)
        with engine.begin() as conn:
            def new(table, **values) -> int:  # ids from the database's own sequences (PostgreSQL)
                return conn.execute(insert(table.__table__).values(**values).returning(table.id)).scalar_one()

            data = {name: new(m.DatasetRow, name=name, created_at=t0) for name in ("A", "B")}
            docs = {f"{name}{i}": new(m.DocumentRow, dataset_id=data[name], position=i, title=f"{name}{i}",
                                      content_hash=f"{name}{i}".rjust(64, "0"), sents=[], extra={},
                                      has_labels=False, num_tokens=0, created_at=t0)
                    for name, n in (("A", 4), ("B", 1)) for i in range(n)}
            runs = {}
            for label, dataset, checkpoint, version, seconds, hours in (  # interleaved groups, oldest first
                    ("a1", "A", "atlop", "0.1.0", 1.0, 1), ("other_version", "A", "atlop", "0.2.0", 8.0, 0),
                    ("a2", "A", "atlop", "0.1.0", 2.0, 0), ("other_dataset", "B", "atlop", "0.1.0", 16.0, 5),
                    ("b1", "B", "paee", "0.1.0", 0.5, 3), ("a3", "A", "atlop", "0.1.0", 4.0, 2),
                    ("b2", "B", "paee", "0.1.0", 0.25, 4)):
                runs[label] = new(m.ModelRunRow, dataset_id=data[dataset], checkpoint=f"runs/{checkpoint}",
                                  method=f"{checkpoint}.v1", version=version, seconds=seconds, details={"by": label},
                                  created_at=t0 + timedelta(hours=hours))
            held = {"a1": ("A0", "A1", "A3"), "a2": ("A1", "A2"), "a3": ("A2",), "other_version": ("A0",),
                    "other_dataset": ("B0",), "b1": ("B0",), "b2": ("B0",)}
            conn.execute(insert(m.PairScoreBlobRow.__table__), [
                {"run_id": runs[run], "document_id": docs[doc], "n_pairs": 6, "payload": f"{run} {doc}".encode()}
                for run, held_docs in held.items() for doc in held_docs])
            sugg = {doc: new(m.SuggestionRow, document_id=docs[doc], h=0, t=1, relation="P17", score=0.9,
                             created_at=t0) for doc in ("A0", "A1", "A2")}
            source_score = {"a1": 0.125, "a2": 0.25, "a3": 0.5, "other_version": 0.75}
            sources = {"A0": ("a1", "a3"), "A1": ("a1", "a2"), "A2": ("a2", "other_version")}
            conn.execute(insert(m.SuggestionSourceRow.__table__), [
                {"suggestion_id": sugg[doc], "run_id": runs[run], "score": source_score[run],
                 "evidence": {"by": run}} for doc, by in sources.items() for run in by])
            jobs = {name: new(m.ScoringJobRow, dataset_id=data["A"], document_ids=[docs["A0"]], checkpoints=list(cps),
                              run_ids=[runs[r] for r in run_ids], requested_by="ann", status="done", done=1, total=1,
                              created_at=t0, kind="score")
                    for name, cps, run_ids in (("two_models", ("runs/atlop", "runs/paee"), ("a1", "b1")),
                                               ("one_model_twice", ("runs/atlop", "runs/atlop"), ("a1", "a2")),
                                               ("untouched", ("runs/atlop",), ("other_version",)),
                                               ("none_yet", ("runs/atlop",), ()))}
        init_db(engine)

        with engine.connect() as conn:
            scores = set(conn.execute(select(m.PairScoreBlobRow.run_id, m.PairScoreBlobRow.document_id,
                                             m.PairScoreBlobRow.payload)).tuples())
            kept_sources = {(sid, run, score, evidence["by"]) for sid, run, score, evidence in conn.execute(
                select(m.SuggestionSourceRow.suggestion_id, m.SuggestionSourceRow.run_id, m.SuggestionSourceRow.score,
                       m.SuggestionSourceRow.evidence))}
            run_ids = dict(conn.execute(select(m.ScoringJobRow.id, m.ScoringJobRow.run_ids)).tuples().all())
        assert scores == {(runs[run], docs[doc], f"{by} {doc}".encode()) for run, doc, by in (
            ("a3", "A0", "a1"), ("a3", "A1", "a2"), ("a3", "A2", "a3"), ("a3", "A3", "a1"),
            ("other_version", "A0", "other_version"), ("other_dataset", "B0", "other_dataset"), ("b2", "B0", "b2"))}
        assert kept_sources == {(sugg[doc], runs[run], source_score[by], by) for doc, run, by in (
            ("A0", "a3", "a3"), ("A1", "a3", "a2"), ("A2", "a3", "a2"), ("A2", "other_version", "other_version"))}
        assert run_ids == {jobs["two_models"]: [runs["a3"], runs["b2"]],
                           jobs["one_model_twice"]: [runs["a3"], runs["a3"]],  # positional: one per checkpoint
                           jobs["untouched"]: [runs["other_version"]], jobs["none_yet"]: []}
        with session_scope(session_factory(engine)) as s:
            got = {(r.id, r.dataset_id, r.checkpoint, r.version, r.seconds, r.created_at, r.details["by"], r.n_scored)
                   for r in store.list_runs(s)}
            assert store.run_of_model(s, data["A"], checkpoint="runs/atlop", method="atlop.v1",
                                      version="0.1.0") == runs["a3"]
        assert got == {
            (runs["a3"], data["A"], "runs/atlop", "0.1.0", 7.0, t0, "a3", 4),  # seconds 1 + 2 + 4; a2's time
            (runs["other_version"], data["A"], "runs/atlop", "0.2.0", 8.0, t0, "other_version", 1),
            (runs["b2"], data["B"], "runs/paee", "0.1.0", 0.75, t0 + timedelta(hours=3), "b2", 1),
            (runs["other_dataset"], data["B"], "runs/atlop", "0.1.0", 16.0, t0 + timedelta(hours=5), "other_dataset",
             1)}
    finally:
        engine.dispose()
