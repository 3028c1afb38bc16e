"""The store hands out a suggestion's support typed: values stored in older forms (written straight into the
row, as earlier versions did) read back, an unreadable one is shown as none, and add_suggestions refuses a
malformed one naming the item and field."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import update

from db import store
from db.store import models as m
from db.store.session import session_scope
from engine.data.support import ModelVote, Support
from tests.db_support import seed

# the whole support as the suggest command wrote it before rules, key mention pairs and the ranking note
BEFORE_RANKER = {"models": {"atlop": {"margin": 0.8, "probability": 0.7}, "ncrl": {"margin": -0.2, "probability": 0.4}},
                 "agreeing_models": 1, "sentences": [0], "type_fit": True}


def _store_raw(factory, suggestion_id: int, value) -> None:
    with session_scope(factory) as session:
        session.execute(update(m.SuggestionSourceRow).where(m.SuggestionSourceRow.suggestion_id == suggestion_id)
                        .values(evidence=value))


def _source(factory, suggestion_id: int):
    with session_scope(factory) as session:
        (source,) = store.get_suggestion(session, suggestion_id).sources
    return source


def test_an_old_form_stored_support_reads_back_typed(factory) -> None:
    ids = seed(factory, [(0, 1, "P551", 0.9)])
    (sid,) = ids["suggestions"]
    _store_raw(factory, sid, BEFORE_RANKER)
    assert _source(factory, sid).support == Support({"atlop": ModelVote(0.8, 0.7), "ncrl": ModelVote(-0.2, 0.4)}, 1,
                                                    (0,), True)
    _store_raw(factory, sid, {})  # imported without support
    assert _source(factory, sid).support is None


def test_an_unreadable_stored_support_is_shown_as_none_and_logged(factory, caplog) -> None:
    ids = seed(factory, [(0, 1, "P551", 0.9)])
    (sid,) = ids["suggestions"]
    _store_raw(factory, sid, {"models": "atlop"})
    with caplog.at_level(logging.WARNING):
        assert _source(factory, sid).support is None
    assert f"suggestion {sid}, run {ids['run']}: stored support unreadable (models:" in caplog.text


def test_adding_a_malformed_support_names_the_item_and_field(factory) -> None:
    ids = seed(factory, [])
    item = {"doc_id": ids["doc"], "h_idx": 0, "t_idx": 1, "r": "P17", "score": 0.5}
    with session_scope(factory) as session, pytest.raises(ValueError, match=r"^suggestion 1: evidence\.type_fit: "):
        store.add_suggestions(session, ids["dataset"], [item, {**item, "h_idx": 1, "evidence": {"type_fit": "no"}}],
                              run_ids=[ids["run"]])
