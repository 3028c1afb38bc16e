"""Issue 16 in the store: undo stays in its dataset, gold-aware duplicate checks, curator adjudication."""
from __future__ import annotations

import pytest

from db import store
from db.store.errors import DuplicateLabelError, ReviewError
from db.store.session import session_scope
from tests.db_support import seed, tiny_document

TRIPLES = [(0, 1, "P551", 0.9), (0, 2, "P19", 0.8)]


def _second_dataset(factory) -> int:
    """Another dataset with one suggestion; returns that suggestion's id."""
    with session_scope(factory) as session:
        other = store.create_dataset(session, "other")
        (doc_id,) = store.add_documents(session, other.id, [tiny_document("Other")]).added
        run_id = store.record_run(session, other.id, checkpoint="runs/atlop", method="atlop.v1", version="0.1.0",
                                  seconds=1.0)
        (sid,) = store.add_suggestions(session, other.id, [{"doc_id": doc_id, "h_idx": 0, "t_idx": 1,
                                                           "relation": "P27", "score": 0.5, "evidence": {}}],
                                       run_ids=[run_id])
    return sid


def test_undo_acts_on_the_current_dataset_only(factory) -> None:
    ids = seed(factory, TRIPLES)
    other = _second_dataset(factory)
    with session_scope(factory) as session:
        store.record_review(session, ids["suggestions"][0], "ann", "accept")
        store.record_review(session, other, "ann", "reject")  # the latest decision, in the other dataset
    with session_scope(factory) as session:
        undone = store.undo_last_review(session, "ann", dataset_id=ids["dataset"])
    assert undone.suggestion_id == ids["suggestions"][0]
    with session_scope(factory) as session:
        assert store.get_suggestion(session, other).state == "rejected"
        with pytest.raises(ReviewError, match="in this dataset"):
            store.undo_last_review(session, "ann", dataset_id=ids["dataset"])


def test_pair_labels_and_duplicate_accepts_are_refused(factory) -> None:
    # tiny_document's gold: Paris (1) -P17-> France (2); suggestions on 1 -> 2 and twice on 0 -> 1
    ids = seed(factory, [(1, 2, "P131", 0.9), (0, 1, "P551", 0.8), (0, 1, "P19", 0.7)])
    correct_to_gold, first, second = ids["suggestions"]
    with session_scope(factory) as session:
        assert store.pair_labels(session, ids["doc"], 1, 2) == store.PairLabels(("P17",), ())
        with pytest.raises(DuplicateLabelError, match="already has P17 as a gold label"):
            store.record_review(session, correct_to_gold, "ann", "accept", relation="P17")
    with session_scope(factory) as session:
        store.record_review(session, first, "ann", "accept")
    with session_scope(factory) as session:
        assert store.pair_labels(session, ids["doc"], 0, 1).accepted == (("P551", first),)
        with pytest.raises(DuplicateLabelError, match="accepted in review of another suggestion"):
            store.record_review(session, second, "bob", "accept", relation="P551")
        store.record_review(session, second, "bob", "accept")  # its own relation, P19, is new: fine
        store.record_review(session, first, "bob", "accept")  # agreeing with an accept is no duplicate


def test_a_curator_resolves_a_conflict_and_the_log_keeps_everything(factory) -> None:
    ids = seed(factory, TRIPLES)
    target = ids["suggestions"][0]
    with session_scope(factory) as session:
        store.record_review(session, target, "ann", "accept", note="sentence 0 says so")
        store.record_review(session, target, "bob", "reject", note="no")
    with session_scope(factory) as session:
        assert store.list_suggestions(session, ids["dataset"], {"disputed": True, "state": "conflict"}).total == 1
        with pytest.raises(ReviewError, match="only a curator"):
            store.resolve_conflict(session, target, "ann", "accept")
    with session_scope(factory) as session:
        store.resolve_conflict(session, target, "cat", "accept", relation="P19", note="final")
    with session_scope(factory) as session:
        view = store.get_suggestion(session, target)
        assert (view.state, view.accepted_relation) == ("accepted", "P19")
        assert store.list_suggestions(session, ids["dataset"], {"state": "conflict"}).total == 0
        assert store.list_suggestions(session, ids["dataset"], {"disputed": True}).total == 1  # resolved, listed
        trail = store.review_history(session, suggestion_id=target)
        assert [(r.annotator, r.decision) for r in reversed(trail)] == [("ann", "accept"), ("bob", "reject"),
                                                                         ("cat", "accept")]
        (doc,) = store.export_json(session, ids["dataset"])
    added = [label for label in doc["labels"] if "provenance" in label]
    assert [(a["h"], a["t"], a["r"], a["provenance"]["annotator"]) for a in added] == [(0, 1, "P19", "cat")]


def test_set_role_makes_a_curator(factory) -> None:
    seed(factory, TRIPLES)
    with session_scope(factory) as session:
        assert store.set_role(session, "ann", "curator").role == "curator"


@pytest.mark.parametrize("mode", ["document", "round-robin"])
def test_split_queue_between_annotators(factory, mode: str) -> None:
    ids = seed(factory, [(0, 1, "P551", 0.9), (0, 2, "P19", 0.8), (1, 0, "P17", 0.7), (2, 0, "P27", 0.6)])
    with session_scope(factory) as session:
        store.record_review(session, ids["suggestions"][0], "ann", "reject")  # decided: not dealt out
        counts = store.split_queue(session, ids["dataset"], ["ann", "bob"], mode)
    assert counts == ({"ann": 3, "bob": 0} if mode == "document" else {"ann": 2, "bob": 1})
    with session_scope(factory) as session:
        assert store.assignment_counts(session, ids["dataset"]) == {k: v for k, v in counts.items() if v}
        mine = store.list_suggestions(session, ids["dataset"], {"assigned_to": "ann"})
        assert mine.total == counts["ann"] and ids["suggestions"][0] not in [s.id for s in mine.items]
        with pytest.raises(ValueError, match="split mode"):
            store.split_queue(session, ids["dataset"], ["ann"], "random")


def test_curator_resolutions_are_left_out_of_annotator_agreement(factory) -> None:
    # ann and bob disagree on two of four items; the curator resolves both. Counted, the curator would be paired
    # with each annotator (kappa 1.0 with ann on the two items) and lift ann's mean kappa on the Assign page.
    ids = seed(factory, [(0, 1, "P551", 0.9), (0, 2, "P19", 0.8), (1, 0, "P17", 0.7), (2, 0, "P27", 0.6)])
    s1, s2, s3, s4 = ids["suggestions"]
    with session_scope(factory) as session:
        for sid, ann, bob in ((s1, "accept", "reject"), (s2, "accept", "accept"), (s3, "reject", "accept"),
                              (s4, "reject", "reject")):
            store.record_review(session, sid, "ann", ann)
            store.record_review(session, sid, "bob", bob)
        store.resolve_conflict(session, s1, "cat", "accept")
        store.resolve_conflict(session, s3, "cat", "reject")
    with session_scope(factory) as session:
        pairs = store.annotator_pairs(session, ids["dataset"])
    assert [(p.annotator_a, p.annotator_b, p.suggestion_ids) for p in pairs] == [("ann", "bob", (s1, s2, s3, s4))]
    (pair,) = pairs
    assert pair.labels_a == ("P551", "P19", "reject", "reject")
    assert pair.labels_b == ("reject", "P19", "P17", "reject")
    # p_o = 2/4; p_e = (1*0 + 1*1 + 2*2) / 16 = 5/16 (P551, P19, reject by ann against reject, P19, P17 by bob)
    assert store.cohen_kappa(pair.labels_a, pair.labels_b) == pytest.approx((2 / 4 - 5 / 16) / (1 - 5 / 16))


def test_overlap_deals_each_pair_to_k_annotators(factory) -> None:
    # three pairs (one with two relations) for three annotators, overlap 2: each pair to two different people,
    # a pair's relations together, and everyone gets two of the three pairs
    ids = seed(factory, [(0, 1, "P551", 0.9), (0, 1, "P19", 0.85), (0, 2, "P19", 0.8), (1, 0, "P17", 0.7)])
    with session_scope(factory) as session:
        store.ensure_annotator(session, "dan")
        assert store.review_settings(session, ids["dataset"]).overlap == 1  # the default
        assert store.set_review_settings(session, ids["dataset"], overlap=2, by="cat").overlap == 2
        counts = store.split_queue(session, ids["dataset"], ["ann", "bob", "dan"], "round-robin")
    assert counts == {"ann": 3, "bob": 3, "dan": 2}  # pairs: (0,1) x2 to ann+bob, (0,2) to dan+ann, (1,0) to bob+dan
    with session_scope(factory) as session:
        shares = {name: {(s.h, s.t) for s in store.list_suggestions(session, ids["dataset"],
                                                                     {"assigned_to": name}).items}
                  for name in ("ann", "bob", "dan")}
        holders = {pair: sorted(n for n, mine in shares.items() if pair in mine) for pair in ((0, 1), (0, 2), (1, 0))}
        assert all(len(people) == 2 for people in holders.values()), holders
        with pytest.raises(ValueError, match="overlap sends each item to 2 annotators"):
            store.split_queue(session, ids["dataset"], ["ann"], "document")
        with pytest.raises(ValueError, match="overlap"):
            store.set_review_settings(session, ids["dataset"], overlap=0)
    with session_scope(factory) as session:  # overlap = everyone: the same items for all, an agreement study
        store.set_review_settings(session, ids["dataset"], overlap=3)
        assert store.split_queue(session, ids["dataset"], ["ann", "bob", "dan"], "document") == {
            "ann": 4, "bob": 4, "dan": 4}
