"""Issue 27's races, each with one defined outcome on SQLite and PostgreSQL, with real processes: four first uses
of one new annotator name (one row, no IntegrityError), two accepts of one label on one pair (one recorded, the
other refused as a duplicate), and four undos pressed at once (the decision the page showed is undone once, the
other three are told so; older decisions stay)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db import store
from db.store import models as m
from db.store.errors import ReviewConflictError
from db.store.session import session_scope
from tests import race_support
from tests.db_support import seed
from tests.race_support import collide


def test_four_first_uses_of_one_name_make_one_annotator(db_url, factory) -> None:
    with session_scope(factory) as s:
        store.create_dataset(s, "schema only")  # the schema exists before the processes start
    outcomes = collide(race_support.first_use_worker, *[(db_url, "newbie")] * 4)
    assert [o[0] for o in outcomes] == ["ok"] * 4, outcomes
    assert len({o[1] for o in outcomes}) == 1
    with session_scope(factory) as s:
        assert s.scalars(select(m.AnnotatorRow.name)).all() == ["newbie"]


def test_two_accepts_of_one_label_record_one(db_url, factory) -> None:
    ids = seed(factory, [(0, 1, "P551", 0.9), (0, 1, "P19", 0.8)])
    first, second = ids["suggestions"]
    outcomes = collide(race_support.accept_worker, (db_url, first, "ann", "P19"), (db_url, second, "bob", "P19"))
    assert sorted(o[0] for o in outcomes) == ["DuplicateLabelError", "ok"], outcomes
    refused = next(o for o in outcomes if o[0] != "ok")
    assert refused[2] and "already has P19" in refused[1]
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(m.ReviewRow)) == 1
        assert store.pair_labels(s, ids["doc"], 0, 1).all() == {"P19"}


def _decisions(factory, n: int) -> list[int]:
    ids = seed(factory, [(0, 1, "P551", 0.9), (0, 2, "P19", 0.8), (1, 2, "P17", 0.7), (2, 0, "P27", 0.6)][:n])
    with session_scope(factory) as s:
        return [store.record_review(s, sid, "ann", "reject") for sid in ids["suggestions"]]


def test_four_undos_at_once_undo_the_latest_decision_once(db_url, factory) -> None:
    reviews = _decisions(factory, 4)
    outcomes = collide(race_support.undo_expecting_worker, *[(db_url, "ann", reviews[-1])] * 4)
    assert sorted(o[0] for o in outcomes) == ["ReviewConflictError"] * 3 + ["ok"], outcomes
    assert next(o[1] for o in outcomes if o[0] == "ok") == reviews[-1]
    with session_scope(factory) as s:
        assert s.scalars(select(m.ReviewRow.undoes_id).where(m.ReviewRow.decision == m.UNDO)).all() == [reviews[-1]]


def test_an_undo_never_reaches_past_the_decision_the_page_showed(factory) -> None:
    """However late a second press is served (SQLite serialises writers), it cannot undo an older decision."""
    reviews = _decisions(factory, 2)
    with session_scope(factory) as s:
        assert store.undo_last_review(s, "ann", expected_id=reviews[-1]).id == reviews[-1]
    with pytest.raises(ReviewConflictError, match="another tab or window; nothing more was undone"), \
            session_scope(factory) as s:
        store.undo_last_review(s, "ann", expected_id=reviews[-1])
    with session_scope(factory) as s:
        assert store.undo_last_review(s, "ann", expected_id=reviews[0]).id == reviews[0]  # the page showed it next
