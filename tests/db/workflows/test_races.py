"""Races between two real processes, on SQLite and on PostgreSQL: the same annotator's undo from two tabs, and two
uploads into one dataset (new or existing) at once. Neither reaches the user as a raw IntegrityError, nothing
is lost, and document positions stay unique."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db import store
from db.store import models as m
from db.store.session import session_scope
from tests import race_support
from tests.db_support import seed, tiny_document

TRIPLES = [(0, 1, "P551", 0.9), (0, 2, "P19", 0.8)]


def test_undo_from_two_tabs_undoes_once_and_explains(db_url, factory) -> None:
    ids = seed(factory, TRIPLES)
    first, second = ids["suggestions"]
    with session_scope(factory) as s:
        store.record_review(s, first, "ann", "accept")
        latest = store.record_review(s, second, "ann", "reject")
    outcomes = race_support.collide(race_support.undo_worker, (db_url, "ann"), (db_url, "ann"))
    assert sorted(o[0] for o in outcomes) == ["ReviewConflictError", "ok"], outcomes
    assert next(o[1] for o in outcomes if o[0] == "ok") == latest
    refused = next(o for o in outcomes if o[0] != "ok")
    assert refused[2] and "another tab" in refused[1] and "IntegrityError" not in refused[1]
    with session_scope(factory) as s:
        undos = s.scalars(select(m.ReviewRow.undoes_id).where(m.ReviewRow.decision == m.UNDO)).all()
        assert undos == [latest]  # one undo, of the latest decision; the one before still counts
        assert store.get_suggestion(s, first).state == "accepted"


def _documents(factory) -> list[tuple[int, str, int]]:
    with session_scope(factory) as s:
        return s.execute(select(m.DocumentRow.dataset_id, m.DocumentRow.title, m.DocumentRow.position)
                         .order_by(m.DocumentRow.position)).tuples().all()


def test_two_first_uploads_into_one_new_dataset_both_land(db_url, factory) -> None:
    outcomes = race_support.collide(race_support.upload_worker, (db_url, "fresh", ["A1", "A2"], "INSERT INTO datasets"),
                       (db_url, "fresh", ["B1", "B2"], "INSERT INTO datasets"))
    assert [o[0] for o in outcomes] == ["ok", "ok"], outcomes
    with session_scope(factory) as s:
        assert [d.name for d in store.list_datasets(s)] == ["fresh"]
    docs = _documents(factory)
    assert sorted(title for _, title, _ in docs) == ["A1", "A2", "B1", "B2"]
    assert [p for _, _, p in docs] == [0, 1, 2, 3]


def test_two_uploads_into_one_dataset_get_distinct_positions(db_url, factory) -> None:
    with session_scope(factory) as s:
        dataset = store.create_dataset(s, "shared")
        store.add_documents(s, dataset.id, [tiny_document("first")])
    outcomes = race_support.collide(race_support.upload_worker,
                                    (db_url, "shared", ["A1", "A2"], "INSERT INTO documents"),
                       (db_url, "shared", ["B1", "B2"], "INSERT INTO documents"))
    assert [o[0] for o in outcomes] == ["ok", "ok"], outcomes
    docs = _documents(factory)
    assert sorted(title for _, title, _ in docs) == ["A1", "A2", "B1", "B2", "first"]
    assert [p for _, _, p in docs] == [0, 1, 2, 3, 4]  # unique, in upload order


def test_positions_are_unique_in_the_schema(factory) -> None:
    """The constraint itself: a second document at a taken position is refused by the database."""
    from sqlalchemy.exc import IntegrityError

    with session_scope(factory) as s:
        dataset = store.create_dataset(s, "d")
        store.add_documents(s, dataset.id, [tiny_document("one")])
    with pytest.raises(IntegrityError), session_scope(factory) as s:
        row = s.scalars(select(m.DocumentRow)).one()
        s.add(m.DocumentRow(dataset_id=row.dataset_id, position=row.position, title="two", content_hash="x" * 64,
                         sents=[], extra={}, has_labels=False, num_tokens=0, created_at=row.created_at))
        s.flush()
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(m.DocumentRow)) == 1


def test_an_upload_that_keeps_losing_gives_up_cleanly(factory, monkeypatch) -> None:
    """Retries are for lost races only, and bounded: then a ConflictError that says nothing was stored."""
    import sqlite3

    from sqlalchemy.exc import IntegrityError

    from db.store.errors import ConflictError
    from db.workflows import uploads

    calls: list[int] = []

    def always_lose(session, dataset_id, documents, sources=None):
        calls.append(dataset_id)
        raise IntegrityError("INSERT INTO documents", {}, sqlite3.IntegrityError(
            "UNIQUE constraint failed: documents.dataset_id, documents.position"))

    monkeypatch.setattr(uploads, "add_documents", always_lose)
    pauses: list[float] = []
    with pytest.raises(ConflictError, match="nothing of this upload was stored"):
        uploads.store_upload(factory, "busy", [tiny_document()], attempts=3, pause=pauses.append)
    assert len(calls) == 3 and len(pauses) == 3

    def broken(session, dataset_id, documents, sources=None):
        raise IntegrityError("INSERT INTO mentions", {}, sqlite3.IntegrityError("CHECK constraint failed: span"))

    monkeypatch.setattr(uploads, "add_documents", broken)
    with pytest.raises(IntegrityError, match="CHECK constraint failed"):  # not a race: no retry, no disguise
        uploads.store_upload(factory, "busy", [tiny_document()], pause=pauses.append)
    assert len(pauses) == 3
    with session_scope(factory) as s:
        assert store.list_datasets(s) == []  # every attempt rolled back, the dataset too
