"""The review queue grouped by entity pair: one item per pair with its relations best first, the long tail below
the dataset's minimum probability, unlabelled documents in "verify" mode, and one decision per pair that writes
one review per relation. SQLite always, PostgreSQL if set."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db import store
from db.store import models as m
from db.store.domain import DEFAULT_MIN_PROBABILITY
from db.store.errors import DuplicateLabelError, ReviewError
from db.store.session import session_scope
from tests.db_support import seed, tiny_document

# Paris -> France holds gold P17 (tiny_document); three relations on Ann Lee -> Paris, one on Ann Lee -> France
TRIPLES = [(0, 1, "P551", 0.9), (0, 1, "P19", 0.3), (0, 1, "P27", 0.2), (0, 2, "P27", 0.6), (2, 1, "P150", 0.01)]


def pairs(factory, part: str = "queue", **kwargs):  # factory: the fixture, passed in
    with session_scope(factory) as session:
        return store.list_pairs(session, kwargs.pop("dataset"), kwargs.pop("filters", None), part=part, **kwargs)


def test_one_item_per_pair_with_its_relations_ranked_inside(factory) -> None:
    ids = seed(factory, TRIPLES)
    page = pairs(factory, "all", dataset=ids["dataset"], min_probability=0.0)
    assert [(i.h, i.t) for i in page.items] == [(0, 1), (0, 2), (2, 1)]  # by each pair's best probability
    first = page.items[0]
    assert [v.relation for v in first.relations] == ["P551", "P19", "P27"]
    assert first.best_score == pytest.approx(0.9) and (first.head_name, first.tail_name) == ("Ann Lee", "Paris")
    assert page.total == page.queued == 3 and page.long_tail == 0 and first.mode == "missing"


def test_relations_below_the_minimum_sit_in_the_long_tail_not_in_the_queue(factory) -> None:
    ids = seed(factory, TRIPLES)
    queue = pairs(factory, dataset=ids["dataset"], min_probability=0.5)
    assert [(i.h, i.t, [v.relation for v in i.relations]) for i in queue.items] == [(0, 1, ["P551"]),
                                                                                      (0, 2, ["P27"])]
    assert (queue.total, queue.queued, queue.long_tail) == (2, 2, 2)
    tail = pairs(factory, "tail", dataset=ids["dataset"], min_probability=0.5)  # weak relations of a queued pair too
    assert [(i.h, i.t, [v.relation for v in i.relations], i.long_tail) for i in tail.items] == [
        (0, 1, ["P19", "P27"], True), (2, 1, ["P150"], True)] and tail.total == 2
    with session_scope(factory) as session:  # the expected yields still count the tail's probabilities
        assert sorted(store.undecided_scores(session, ids["dataset"])) == pytest.approx([0.01, 0.2, 0.3, 0.6, 0.9])


def test_the_minimum_is_a_dataset_setting_with_a_measured_default(factory) -> None:
    ids = seed(factory, TRIPLES)
    with session_scope(factory) as session:
        assert store.review_settings(session, ids["dataset"]).min_probability == DEFAULT_MIN_PROBABILITY
        store.set_review_settings(session, ids["dataset"], min_probability=0.5, by="cat")
        with pytest.raises(ValueError, match="min_probability"):
            store.set_review_settings(session, ids["dataset"], min_probability=1.5)
    page = pairs(factory, dataset=ids["dataset"])
    assert page.min_probability == 0.5 and page.long_tail == 2
    with session_scope(factory) as session:  # another setting saved later keeps the minimum
        store.set_review_settings(session, ids["dataset"], refit_every=5)
        assert store.review_settings(session, ids["dataset"]).min_probability == 0.5


def test_a_grouped_decision_writes_one_review_per_relation(factory) -> None:
    ids = seed(factory, TRIPLES)
    sid = dict(zip([(h, t, r) for h, t, r, _ in TRIPLES], ids["suggestions"]))
    with session_scope(factory) as session:
        item = store.get_pair(session, ids["dataset"], ids["doc"], 0, 1)
        reviews = store.decide_pair(session, item, "ann", accept={sid[(0, 1, "P551")]: None,
                                                                 sid[(0, 1, "P27")]: "P102"}, note="both")
        assert len(reviews) == 3
        rows = session.execute(select(m.ReviewRow.suggestion_id, m.ReviewRow.decision, m.ReviewRow.relation)
                               .order_by(m.ReviewRow.id)).all()
        assert rows == [(sid[(0, 1, "P551")], "accept", None), (sid[(0, 1, "P19")], "reject", None),
                        (sid[(0, 1, "P27")], "accept", "P102")]
        states = {v.relation: (v.state, v.accepted_relation) for v in
                  store.get_pair(session, ids["dataset"], ids["doc"], 0, 1).relations}
    assert states == {"P551": ("accepted", "P551"), "P19": ("rejected", None), "P27": ("accepted", "P102")}
    left = pairs(factory, dataset=ids["dataset"], min_probability=0.0, filters={"undecided": True})
    assert [(i.h, i.t) for i in left.items] == [(0, 2), (2, 1)]  # the decided pair left the pending queue


def test_a_correction_to_a_listed_relation_accepts_that_one(factory) -> None:
    ids = seed(factory, TRIPLES)
    sid = dict(zip([(h, t, r) for h, t, r, _ in TRIPLES], ids["suggestions"]))
    with session_scope(factory) as session:
        item = store.get_pair(session, ids["dataset"], ids["doc"], 0, 1)
        store.decide_pair(session, item, "ann", accept={sid[(0, 1, "P551")]: "P19"})
        states = {v.relation: v.state for v in store.get_pair(session, ids["dataset"], ids["doc"], 0, 1).relations}
    assert states == {"P551": "rejected", "P19": "accepted", "P27": "rejected"}


def test_skip_and_refusals_record_nothing_partial(factory) -> None:
    ids = seed(factory, TRIPLES + [(1, 2, "P131", 0.5)])
    with session_scope(factory) as session:
        item = store.get_pair(session, ids["dataset"], ids["doc"], 0, 1)
        store.decide_pair(session, item, "bob", skip=True)
        assert [store.get_suggestion(session, v.id).state for v in item.relations] == ["skipped"] * 3
        with pytest.raises(ReviewError, match="not relations of the pair"):
            store.decide_pair(session, item, "bob", accept={ids["suggestions"][3]: None})
        with pytest.raises(ReviewError, match="chosen twice"):
            store.decide_pair(session, item, "bob", accept={item.relations[0].id: "P40", item.relations[1].id: "P40"})
    with pytest.raises(DuplicateLabelError), session_scope(factory) as session:  # Paris -> France has gold P17
        item = store.get_pair(session, ids["dataset"], ids["doc"], 1, 2)
        store.decide_pair(session, item, "ann", accept={item.relations[0].id: "P17"})  # the whole pair rolls back
    with session_scope(factory) as session:
        assert session.scalar(select(func.count()).select_from(m.ReviewRow)
                              .where(m.ReviewRow.annotator_id != store.get_annotator(session, "bob").id)) == 0


def test_documents_without_labels_are_verified_not_presented_as_missing(factory) -> None:
    ids = seed(factory, TRIPLES)
    with session_scope(factory) as session:
        (doc_id,) = store.add_documents(session, ids["dataset"], [tiny_document("Unlabelled", facts=None)]).added
        store.add_suggestions(session, ids["dataset"], [{"doc_id": doc_id, "h_idx": 1, "t_idx": 2, "relation": "P17",
                                                         "score": 0.95}], run_ids=[ids["run"]])
    page = pairs(factory, dataset=ids["dataset"], min_probability=0.0)
    assert [(i.document_title, i.mode) for i in page.items][:2] == [("Unlabelled", "verify"), ("Ann Lee", "missing")]
