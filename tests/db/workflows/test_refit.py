"""The learning review queue in the store: review settings, decisions as the engine reads them, refits logged,
pending suggestions re-scored, and a refit on decisions that moves accepted-alike items up."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from db import store
from db.store.domain import DEFAULT_REFIT_EVERY, DEFAULT_STOP_BELOW
from db.store.errors import NotFoundError
from db.store.session import session_scope
from db.workflows.refit import refit_dataset
from db.workflows.scoring import refresh_suggestions
from tests.db_support import seed

SUGGESTIONS = [(0, 1, "P27", 0.9), (0, 2, "P27", 0.6), (1, 0, "P131", 0.4), (0, 2, "P19", 0.2)]


def test_review_settings_default_then_saved_and_checked(factory: sessionmaker[Session]) -> None:
    ids = seed(factory, SUGGESTIONS)
    with session_scope(factory) as s:
        got = store.review_settings(s, ids["dataset"])
        assert (got.refit_every, got.stop_below, got.updated_at) == (DEFAULT_REFIT_EVERY, DEFAULT_STOP_BELOW, None)
        store.set_review_settings(s, ids["dataset"], refit_every=5, by="cat")
        saved = store.set_review_settings(s, ids["dataset"], stop_below=2.5, by="cat")
    assert (saved.refit_every, saved.stop_below, saved.updated_by) == (5, 2.5, "cat")
    assert saved.updated_at is not None and saved.updated_at.tzinfo is not None
    with session_scope(factory) as s:
        assert store.review_settings(s, ids["dataset"]) == saved
        for bad in ({"refit_every": 0}, {"refit_every": 2.5}, {"stop_below": -1.0}, {"stop_below": 101}):
            with pytest.raises(ValueError, match="expected"):
                store.set_review_settings(s, ids["dataset"], **bad)
        with pytest.raises(NotFoundError):
            store.set_review_settings(s, 999, refit_every=3)


def test_decision_items_follow_the_log(factory: sessionmaker[Session]) -> None:
    """Current accepts and rejects only, oldest first; a correction names its relation; undo and skip count
    for nothing; the count matches."""
    from engine.curate.decisions import Decision, decisions_from_json

    ids = seed(factory, SUGGESTIONS)
    a, b, c, d = ids["suggestions"]
    with session_scope(factory) as s:
        store.record_review(s, a, "ann", "accept")
        store.record_review(s, b, "ann", "accept", relation="P19")
        store.record_review(s, c, "ann", "reject")
        store.record_review(s, d, "ann", "skip")
        store.record_review(s, d, "bob", "reject")
        store.undo_last_review(s, "bob")
    with session_scope(factory) as s:
        items = store.decision_items(s, ids["dataset"])
        assert store.decision_count(s, ids["dataset"]) == 3
    assert [(i["h_idx"], i["t_idx"], i["r"], i["decision"], i.get("relation")) for i in items] == [
        (0, 1, "P27", "accept", None), (0, 2, "P27", "accept", "P19"), (1, 0, "P131", "reject", None)]
    assert decisions_from_json(items) == [Decision("Ann Lee", 0, 1, "P27", True),
                                          Decision("Ann Lee", 0, 2, "P27", False),
                                          Decision("Ann Lee", 0, 2, "P19", True),
                                          Decision("Ann Lee", 1, 0, "P131", False)]


def test_refits_are_logged_and_due_after_every_n(factory: sessionmaker[Session]) -> None:
    ids = seed(factory, SUGGESTIONS)
    with session_scope(factory) as s:
        assert store.latest_refit(s, ids["dataset"]) is None
        assert not store.refit_due(2, None, 3) and store.refit_due(3, None, 3)
        store.record_refit(s, ids["dataset"], decisions=3, accepted=1, rescored=2, seconds=0.5)
        last = store.record_refit(s, ids["dataset"], decisions=6, accepted=2, rescored=1, seconds=0.25)
    with session_scope(factory) as s:
        assert store.latest_refit(s, ids["dataset"]) == last
        assert [r.decisions for r in store.list_refits(s, ids["dataset"])] == [6, 3]
    assert (last.accepted, last.rescored, last.seconds) == (2, 1, 0.25) and last.created_at.tzinfo is not None
    assert not store.refit_due(8, last, 3) and store.refit_due(9, last, 3)


def test_rescore_moves_scores_both_ways_within_the_dataset(factory: sessionmaker[Session]) -> None:
    ids = seed(factory, SUGGESTIONS)
    doc = ids["doc"]
    with session_scope(factory) as s:
        n = store.rescore_suggestions(s, ids["dataset"], {(doc, 0, 1, "P27"): 0.1, (doc, 1, 0, "P131"): 0.95,
                                                          (doc, 2, 1, "P17"): 0.5})  # the last one is no suggestion
        assert n == 2 and store.rescore_suggestions(s, 999, {(doc, 0, 2, "P27"): 0.0}) == 0
        listed = store.list_suggestions(s, ids["dataset"]).items
        store.record_review(s, ids["suggestions"][2], "ann", "accept")
        left = store.undecided_scores(s, ids["dataset"])
    assert [(v.h, v.t, v.relation, v.score) for v in listed] == [
        (1, 0, "P131", 0.95), (0, 2, "P27", 0.6), (0, 2, "P19", 0.2), (0, 1, "P27", 0.1)]
    assert left == [0.6, 0.2, 0.1]  # the accepted one has left the queue


def _score_documents(factory: sessionmaker[Session], dataset_id: int, docs: list, scores: list) -> list[int]:
    """Store documents and one paee run's pair scores for them; their ids."""
    with session_scope(factory) as s:
        doc_ids = list(store.add_documents(s, dataset_id, docs).added)
        run_id = store.record_run(s, dataset_id, checkpoint="runs/paee", method="paee.v1", version="0", seconds=1.0)
        for doc_id, ps in zip(doc_ids, scores):
            store.save_pair_scores(s, run_id, doc_id, ps)
    return doc_ids


def _accept_p131_reject_p17(factory: sessionmaker[Session], dataset_id: int) -> list:
    """The annotator's decisions on the first pairs of each document; every suggestion as it was."""
    with session_scope(factory) as s:
        store.ensure_annotator(s, "ann")
        items = store.list_suggestions(s, dataset_id, limit=10_000).items
        for item in items:
            if item.h < 3:
                store.record_review(s, item.id, "ann", "accept" if item.relation == "P131" else "reject")
    return items


def test_refit_on_decisions_moves_accepted_alike_pending_items_up(factory: sessionmaker[Session]) -> None:
    """Stored documents whose chain pairs carry P17 and P131 at one margin: the ranker cannot tell them apart.
    The annotator accepts P131 and rejects P17 on the first pairs of each document; after the refit, the
    pending P131 items score higher and come first on most pairs. Without the feedback they stay level."""
    from tests.engine.curate.ranker_support import base_ranker, corpus

    ranker = base_ranker()
    docs, scores = corpus(30, "review")
    with session_scope(factory) as s:
        dataset = store.create_dataset(s, "chains")
    doc_ids = _score_documents(factory, dataset.id, docs, scores["paee"])
    assert refresh_suggestions(factory, dataset.id, doc_ids, docs, ranker=ranker) > 0
    items = _accept_p131_reject_p17(factory, dataset.id)
    decided = {item.id for item in items if item.h < 3}

    def pending() -> dict[tuple[int, int, int, str], float]:
        with session_scope(factory) as s:
            return {(v.document_id, v.h, v.t, v.relation): v.score
                    for v in store.list_suggestions(s, dataset.id, {"state": "pending"}, limit=10_000).items}

    def mean(scores_: dict, relation: str) -> float:
        return float(np.mean([p for key, p in scores_.items() if key[3] == relation]))

    before = pending()
    assert mean(before, "P131") == pytest.approx(mean(before, "P17"), abs=0.02)  # alike before
    info = refit_dataset(factory, dataset.id, ranker=ranker)
    assert info is not None and info.decisions == len(decided) and info.accepted == len(decided) // 2
    after = pending()
    assert set(after) == set(before) and info.rescored > 0
    assert mean(after, "P131") > mean(after, "P17") + 0.2
    pairs = {key[:3] for key in after}
    ahead = [after[(*p, "P131")] > after[(*p, "P17")] for p in pairs if (*p, "P131") in after and (*p, "P17") in after]
    assert ahead and sum(ahead) >= 0.8 * len(ahead)
    with session_scope(factory) as s:  # decided items keep the score they were decided on
        assert {i.id: i.score for i in store.list_suggestions(s, dataset.id, limit=10_000).items
                if i.id in decided} == {i.id: i.score for i in items if i.id in decided}
        assert store.latest_refit(s, dataset.id) == info


def test_documents_scored_after_a_refit_join_the_queue_with_refitted_scores(
        factory: sessionmaker[Session]) -> None:
    """A dataset whose ranker was refitted (accept P131, reject P17) gets more documents: their suggestions
    must carry the refitted ranker's scores too (P131 ahead), not the shipped ranker's, which scores them level."""
    from tests.engine.curate.ranker_support import base_ranker, corpus

    ranker = base_ranker()
    docs, scores = corpus(30, "review")
    later_docs, later_scores = corpus(10, "later")
    with session_scope(factory) as s:
        dataset = store.create_dataset(s, "chains")
    doc_ids = _score_documents(factory, dataset.id, docs, scores["paee"])
    refresh_suggestions(factory, dataset.id, doc_ids, docs, ranker=ranker)
    _accept_p131_reject_p17(factory, dataset.id)
    assert refit_dataset(factory, dataset.id, ranker=ranker) is not None
    later_ids = _score_documents(factory, dataset.id, later_docs, later_scores["paee"])  # a second scoring job
    assert refresh_suggestions(factory, dataset.id, later_ids, later_docs, ranker=ranker) > 0
    with session_scope(factory) as s:
        new = [v for v in store.list_suggestions(s, dataset.id, {"state": "pending"}, limit=10_000).items
               if v.document_id in set(later_ids)]
        assert len(store.list_refits(s, dataset.id)) == 2  # the new documents brought a refit with them
    by_relation = {r: float(np.mean([v.score for v in new if v.relation == r])) for r in ("P131", "P17")}
    assert by_relation["P131"] > by_relation["P17"] + 0.2


def test_refit_without_decisions_changes_nothing(factory: sessionmaker[Session]) -> None:
    ids = seed(factory, SUGGESTIONS)
    assert refit_dataset(factory, ids["dataset"]) is None
    with session_scope(factory) as s:
        assert store.latest_refit(s, ids["dataset"]) is None
