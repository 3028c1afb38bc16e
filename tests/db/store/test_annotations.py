"""Free relation annotation at the store level: a triple added by hand, a suggestion's head or tail changed, a gold
label flagged wrong and confirmed by a curator; each an insert-only review with who and when, and each read by the
export, adjudication, agreement and the ranker's feedback. SQLite always, PostgreSQL if set."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from db import store
from db.store import models as m
from db.store.errors import DuplicateLabelError, NotFoundError, ReviewError
from db.store.session import session_scope
from tests.db_support import seed

TRIPLES = [(0, 1, "P551", 0.9), (0, 2, "P19", 0.8)]  # tiny_document: gold is (1, 2, P17) with evidence (1,)


def labels(factory, dataset: int) -> list[dict]:  # noqa: F811 - the fixture, passed in
    with session_scope(factory) as s:
        (doc,) = store.export_json(s, dataset)
    return doc["labels"]


def test_free_triple_is_an_accepted_review_with_who_when_and_marked_evidence(factory) -> None:  # noqa: F811
    ids = seed(factory, TRIPLES)
    with session_scope(factory) as s:
        added = store.add_triple(s, ids["doc"], 2, 0, "P27", "ann", evidence=[1, 0])
    with session_scope(factory) as s:
        view = store.get_suggestion(s, added.suggestion_id)
        (record,) = store.review_history(s, "ann")
        assert store.manual_kinds(s, [added.suggestion_id]) == {added.suggestion_id: "free"}
    assert (view.h, view.t, view.relation, view.state) == (2, 0, "P27", "accepted")
    assert (record.id, record.annotator, record.decision) == (added.review_id, "ann", "accept")
    assert record.created_at is not None
    (new,) = [lb for lb in labels(factory, ids["dataset"]) if lb["r"] == "P27"]
    assert (new["h"], new["t"], new["evidence"]) == (2, 0, [0, 1])
    assert new["provenance"]["annotator"] == "ann" and new["provenance"]["manual"] == "free"


def test_free_triple_reuses_a_models_suggestion_and_refuses_a_gold_label(factory) -> None:  # noqa: F811
    ids = seed(factory, TRIPLES)
    with session_scope(factory) as s:
        added = store.add_triple(s, ids["doc"], 0, 1, "P551", "ann")
        assert added.suggestion_id == ids["suggestions"][0]
        assert store.manual_kinds(s, [added.suggestion_id]) == {}
    with pytest.raises(DuplicateLabelError), session_scope(factory) as s:
        store.add_triple(s, ids["doc"], 1, 2, "P17", "ann")
    with pytest.raises(ReviewError, match="two different entities"), session_scope(factory) as s:
        store.add_triple(s, ids["doc"], 1, 1, "P17", "ann")
    with pytest.raises(ReviewError, match="evidence sentence 7"), session_scope(factory) as s:
        store.add_triple(s, ids["doc"], 2, 1, "P150", "ann", evidence=[7])
    with session_scope(factory) as s:  # nothing of the refused ones was stored
        assert store.review_history(s, "ann") and len(store.review_history(s, "ann")) == 1
        assert store.manual_kinds(s, range(100)) == {}


def test_changed_head_rejects_the_original_and_accepts_the_moved_triple(factory) -> None:  # noqa: F811
    ids = seed(factory, TRIPLES)
    original = ids["suggestions"][1]  # (0, 2, P19)
    with session_scope(factory) as s:
        moved = store.change_pair(s, original, "ann", h=1)
    with session_scope(factory) as s:
        old, new = store.get_suggestion(s, original), store.get_suggestion(s, moved.suggestion_id)
        items = store.decision_items(s, ids["dataset"])
        assert store.manual_kinds(s, [moved.suggestion_id]) == {moved.suggestion_id: "moved"}
        assert s.get(m.ManualTripleRow, moved.suggestion_id).derived_from == original
    assert old.state == "rejected" and f"suggestion {moved.suggestion_id}" in old.decisions[0].note
    assert (new.h, new.t, new.relation, new.state) == (1, 2, "P19", "accepted")
    assert moved.replaced == (original, old.decisions[0].review_id)
    # the ranker's feedback: the original triple a negative, the moved one a positive
    assert sorted((i["h_idx"], i["t_idx"], i["r"], i["decision"]) for i in items) == [
        (0, 2, "P19", "reject"), (1, 2, "P19", "accept")]
    exported = {(lb["h"], lb["t"], lb["r"]) for lb in labels(factory, ids["dataset"])}
    assert exported == {(1, 2, "P17"), (1, 2, "P19")}
    with pytest.raises(ReviewError, match="another head or tail"), session_scope(factory) as s:
        store.change_pair(s, original, "bob", h=0, t=2)


def test_gold_flag_removes_the_label_only_once_a_curator_confirms(factory) -> None:  # noqa: F811
    ids = seed(factory, TRIPLES)
    with session_scope(factory) as s:
        flag = store.flag_gold(s, ids["doc"], 1, 2, "P17", "ann", note="Paris is not a country")
    assert (1, 2, "P17") in {(lb["h"], lb["t"], lb["r"]) for lb in labels(factory, ids["dataset"])}
    with session_scope(factory) as s:
        assert [v.id for v in store.open_flags(s, ids["dataset"])] == [flag.suggestion_id]
        assert store.decision_items(s, ids["dataset"]) == []  # an unconfirmed flag teaches the ranker nothing
        assert store.confirmed_removals(s, [ids["doc"]]) == {}
        with pytest.raises(ReviewError, match="only a curator"):
            store.confirm_flag(s, flag.suggestion_id, "bob", remove=True)
    with session_scope(factory) as s:
        store.confirm_flag(s, flag.suggestion_id, "cat", remove=True)
    assert (1, 2, "P17") not in {(lb["h"], lb["t"], lb["r"]) for lb in labels(factory, ids["dataset"])}
    with session_scope(factory) as s:
        assert store.open_flags(s, ids["dataset"]) == []
        assert store.confirmed_removals(s, [ids["doc"]]) == {ids["doc"]: {(1, 2, "P17")}}
        assert store.pair_labels(s, ids["doc"], 1, 2).gold == ()
        assert [(i["r"], i["decision"]) for i in store.decision_items(s, ids["dataset"])] == [("P17", "reject")]
        trail = store.review_history(s, suggestion_id=flag.suggestion_id)
    assert [(r.annotator, r.role, r.decision) for r in reversed(trail)] == [
        ("ann", "annotator", "reject"), ("cat", "curator", "reject")]


def test_a_curator_keeps_a_flagged_label(factory) -> None:  # noqa: F811
    ids = seed(factory, TRIPLES)
    with session_scope(factory) as s:
        flag = store.flag_gold(s, ids["doc"], 1, 2, "P17", "ann")
    with session_scope(factory) as s:
        store.confirm_flag(s, flag.suggestion_id, "cat", remove=False)
    exported = [(lb["h"], lb["t"], lb["r"]) for lb in labels(factory, ids["dataset"])]
    assert exported.count((1, 2, "P17")) == 1  # kept once, not added twice
    with session_scope(factory) as s:
        assert store.decision_items(s, ids["dataset"]) == []
        assert store.open_flags(s, ids["dataset"]) == []
    with pytest.raises(NotFoundError, match="no gold label"), session_scope(factory) as s:
        store.flag_gold(s, ids["doc"], 0, 2, "P17", "ann")


def test_free_triples_count_in_agreement_and_adjudication(factory) -> None:  # noqa: F811
    ids = seed(factory, TRIPLES)
    with session_scope(factory) as s:
        a = store.add_triple(s, ids["doc"], 2, 0, "P27", "ann")
        b = store.add_triple(s, ids["doc"], 2, 0, "P27", "bob")
    assert a.suggestion_id == b.suggestion_id  # the same triple from two people is one item
    with session_scope(factory) as s:
        store.record_review(s, ids["suggestions"][0], "ann", "accept")
        store.record_review(s, ids["suggestions"][0], "bob", "reject")
        store.record_review(s, a.suggestion_id, "bob", "reject")  # bob changes his mind: now a conflict
    with session_scope(factory) as s:
        (pair,) = store.annotator_pairs(s, ids["dataset"])
        assert pair.suggestion_ids == (ids["suggestions"][0], a.suggestion_id)
        assert store.get_suggestion(s, a.suggestion_id).state == "conflict"
        store.resolve_conflict(s, a.suggestion_id, "cat", "accept")
    assert (2, 0, "P27") in {(lb["h"], lb["t"], lb["r"]) for lb in labels(factory, ids["dataset"])}


def test_evidence_rows_are_insert_only(factory) -> None:  # noqa: F811
    ids = seed(factory, TRIPLES)
    with session_scope(factory) as s:
        added = store.add_triple(s, ids["doc"], 2, 0, "P27", "ann", evidence=[1])
    with pytest.raises(ValueError, match="insert-only"), session_scope(factory) as s:
        row = s.scalar(select(m.ReviewEvidenceRow).where(m.ReviewEvidenceRow.review_id == added.review_id))
        row.sentences = [0]
