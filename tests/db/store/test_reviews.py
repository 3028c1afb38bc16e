"""Reviews: insert-only, undo by a cancelling row, conflicts until a curator decides, agreement data, and an
export whose accepted (corrected) triples round-trip through DocRED JSON. SQLite always, PostgreSQL if set."""
from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from db import store
from db.store import models as m
from db.store.agreement import cohen_kappa
from db.store.errors import NotFoundError, ReviewError
from db.store.session import session_scope
from engine.data.documents import document_to_json, loads_documents
from tests.db_support import seed, tiny_document

TRIPLES = [(0, 1, "P551", 0.9), (0, 2, "P19", 0.8), (1, 2, "P17", 0.4), (2, 1, "P150", 0.3)]


def state(factory, suggestion_id: int) -> tuple[str, str | None]:  # the fixture, passed in
    with session_scope(factory) as session:
        view = store.get_suggestion(session, suggestion_id)
    return view.state, view.accepted_relation


def review(factory, suggestion_id: int, annotator: str, decision: str, **kwargs) -> int:
    with session_scope(factory) as session:
        return store.record_review(session, suggestion_id, annotator, decision, **kwargs)


def test_simultaneous_decisions_are_both_kept_and_conflict_until_a_curator_decides(factory) -> None:
    ids = seed(factory, TRIPLES)
    target = ids["suggestions"][0]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def decide(annotator: str, decision: str) -> None:
        try:
            with session_scope(factory) as session:
                assert store.get_suggestion(session, target).state == "pending"  # both saw it undecided
                start.wait(timeout=10)
                store.record_review(session, target, annotator, decision)
        except BaseException as err:  # noqa: BLE001 - re-raised in the test thread
            errors.append(err)

    threads = [threading.Thread(target=decide, args=("ann", "accept")),
               threading.Thread(target=decide, args=("bob", "reject"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    with session_scope(factory) as session:
        view = store.get_suggestion(session, target)
        assert session.scalar(select(func.count()).select_from(m.ReviewRow)) == 2
        assert store.list_suggestions(session, ids["dataset"], {"state": "conflict"}).total == 1
    assert view.state == "conflict" and view.is_conflict
    assert sorted((d.annotator, d.decision) for d in view.decisions) == [("ann", "accept"), ("bob", "reject")]

    review(factory, target, "bob", "reject", note="still no")  # annotators repeating themselves resolve nothing
    assert state(factory, target) == ("conflict", None)
    review(factory, target, "cat", "accept", relation="P27", note="lives there, and a citizen")
    assert state(factory, target) == ("accepted", "P27")
    review(factory, target, "ann", "reject")  # after a curator decided, annotators no longer move the item
    assert state(factory, target) == ("accepted", "P27")
    review(factory, target, "cat", "skip")  # ... and a curator's skip leaves nobody's decision in force
    assert state(factory, target) == ("rejected", None)  # ann and bob now both say reject


def test_agreement_decides_and_different_corrections_conflict(factory) -> None:
    ids = seed(factory, TRIPLES)
    agree, corrected, skipped = ids["suggestions"][:3]
    review(factory, agree, "ann", "accept")
    review(factory, agree, "bob", "accept", relation="P551")  # "correcting" to the suggested relation is no change
    assert state(factory, agree) == ("accepted", "P551")
    review(factory, corrected, "ann", "accept", relation="P27")
    assert state(factory, corrected) == ("accepted", "P27")
    review(factory, corrected, "bob", "accept")
    assert state(factory, corrected) == ("conflict", None)
    review(factory, skipped, "ann", "skip")
    assert state(factory, skipped) == ("skipped", None)
    review(factory, skipped, "bob", "reject")  # a skip is no opinion: bob's reject stands alone
    assert state(factory, skipped) == ("rejected", None)
    with session_scope(factory) as session:
        progress = store.review_progress(session, ids["dataset"])
        rates = {r.relation: r for r in store.relation_acceptance(session, ids["dataset"])}
    assert (progress.total, progress.reviewed) == (4, 3)
    assert dict(progress.counts) == {"pending": 1, "skipped": 0, "accepted": 1, "rejected": 1, "conflict": 1}
    assert rates["P551"].acceptance_rate == 1.0 and rates["P17"].acceptance_rate == 0.0
    assert (rates["P551"].accepted, rates["P551"].corrected) == (1, 0)
    review(factory, corrected, "cat", "accept", relation="P27")  # a curator settles it on a corrected relation
    with session_scope(factory) as session:
        rates = {r.relation: r for r in store.relation_acceptance(session, ids["dataset"])}
        progress = store.review_progress(session, ids["dataset"])
    assert (rates["P19"].accepted, rates["P19"].corrected, rates["P19"].acceptance_rate) == (0, 1, 0.0)
    assert dict(progress.counts)["accepted"] == 2  # progress counts the correction as decided
    assert rates["P19"].conflict == 0 and rates["P150"].total == 1


def test_undo_inserts_a_cancelling_row_and_restores_the_previous_decision(factory) -> None:
    ids = seed(factory, TRIPLES)
    first, second = ids["suggestions"][:2]
    review(factory, first, "ann", "accept")
    changed_mind = review(factory, first, "ann", "reject")
    other = review(factory, second, "ann", "accept")
    assert state(factory, first) == ("rejected", None)
    with session_scope(factory) as session:
        undone = store.undo_last_review(session, "ann", suggestion_id=first)
    assert undone.id == changed_mind and undone.undone and state(factory, first) == ("accepted", "P551")
    with session_scope(factory) as session:
        assert store.undo_last_review(session, "ann").id == other  # without a suggestion: the latest anywhere
        store.undo_last_review(session, "ann")
    assert state(factory, first) == ("pending", None) and state(factory, second) == ("pending", None)
    with pytest.raises(ReviewError, match="no decision left to undo"), session_scope(factory) as session:
        store.undo_last_review(session, "ann")
    with session_scope(factory) as session:
        history = store.review_history(session, "ann")
        assert session.scalar(select(func.count()).select_from(m.ReviewRow)) == 6  # nothing was deleted
    assert [h.decision for h in history] == ["undo", "undo", "undo", "accept", "reject", "accept"]
    assert all(h.undone for h in history if h.decision != "undo") and history[0].created_at.tzinfo is not None


def test_reviews_cannot_be_edited_or_deleted_through_the_store_session(factory) -> None:
    ids = seed(factory, TRIPLES)
    review_id = review(factory, ids["suggestions"][0], "ann", "accept")
    with pytest.raises(ValueError, match="insert-only"), session_scope(factory) as session:
        session.get(m.ReviewRow, review_id).decision = "reject"
        session.flush()
    with pytest.raises(ValueError, match="insert-only"), session_scope(factory) as session:
        session.delete(session.get(m.ReviewRow, review_id))
        session.flush()
    assert state(factory, ids["suggestions"][0]) == ("accepted", "P551")


def test_bad_reviews_are_refused(factory) -> None:
    ids = seed(factory, TRIPLES)
    cases = [(("ann", "maybe"), {}, ReviewError, "expected one of accept, reject, skip"),
             (("ann", "reject"), {"relation": "P27"}, ReviewError, "goes with accept"),
             (("zed", "accept"), {}, NotFoundError, "create-user zed")]
    for (who, decision), kwargs, error, message in cases:
        with pytest.raises(error, match=message), session_scope(factory) as session:
            store.record_review(session, ids["suggestions"][0], who, decision, **kwargs)
    with pytest.raises(NotFoundError), session_scope(factory) as session:
        store.record_review(session, 9999, "ann", "accept")


def test_export_adds_accepted_triples_with_provenance_and_round_trips(factory) -> None:
    ids = seed(factory, TRIPLES)
    residence, birth, gold, pending = ids["suggestions"]
    review(factory, residence, "ann", "accept", relation="P27")  # accepted with a corrected relation
    review(factory, birth, "bob", "reject")
    review(factory, gold, "cat", "reject", note="Paris is a city; gold label wrong")  # removes a gold label
    with session_scope(factory) as session:
        exported = store.export_documents(session, ids["dataset"])
        as_uploaded = store.get_document(session, ids["doc"], reviewed=False)
        rows = store.review_log_rows(session, ids["dataset"])
    text = json.dumps([document_to_json(d) for d in exported], ensure_ascii=False)
    loaded = loads_documents(text, file="export.json")
    assert loaded.ok, loaded.problems
    (doc,) = loaded.documents
    assert as_uploaded.facts == tiny_document().facts
    assert [(f.h, f.t, f.r) for f in doc.facts] == [(0, 1, "P27")]
    provenance = doc.facts[0].extra["provenance"]
    assert provenance["annotator"] == "ann" and provenance["suggestion_id"] == residence
    assert provenance["suggested_relation"] == "P551" and provenance["corrected"] is True
    assert provenance["score"] == 0.9 and provenance["models"] == ["atlop.v1"] and provenance["decided_at"]
    assert store.fact_origin(doc.facts[0]) == "review"
    assert [r["decision"] for r in rows] == ["accept", "reject", "reject"] and rows[0]["relation"] == "P27"
    assert set(rows[0]) == set(store.REVIEW_LOG_COLUMNS)

    with session_scope(factory) as session:  # uploading the export keeps the review origin of that label
        again = store.create_dataset(session, "reviewed")
        (new_id,) = store.add_documents(session, again.id, [doc]).added
        origin = session.scalar(select(m.GoldFactRow.origin).where(m.GoldFactRow.document_id == new_id))
        assert store.get_document(session, new_id).facts == doc.facts
    assert origin == "review"


def test_annotator_pairs_feed_cohen_kappa(factory) -> None:
    ids = seed(factory, TRIPLES)
    s = ids["suggestions"]
    for sid, ann, bob in [(s[0], "accept", "accept"), (s[1], "reject", "accept"), (s[2], "reject", "reject")]:
        review(factory, sid, "ann", ann)
        review(factory, sid, "bob", bob)
    review(factory, s[3], "ann", "accept")  # bob never judged it: not a shared item
    with session_scope(factory) as session:
        (pair,) = store.annotator_pairs(session, ids["dataset"])
    assert (pair.annotator_a, pair.annotator_b, pair.suggestion_ids) == ("ann", "bob", tuple(s[:3]))
    assert pair.labels_a == ("P551", "reject", "reject") and pair.labels_b == ("P551", "P19", "reject")
    # p_o = 2/3; ann: P551 1, reject 2; bob: P551 1, P19 1, reject 1; p_e = (1*1 + 2*1) / 9 = 1/3
    assert cohen_kappa(pair.labels_a, pair.labels_b) == pytest.approx((2 / 3 - 1 / 3) / (1 - 1 / 3))


def test_cohen_kappa_by_hand() -> None:
    a = list("YYNYNYYNYY")
    b = list("YNNYNYYYYN")
    # p_o = 7/10; a: Y 7, N 3; b: Y 6, N 4; p_e = (7*6 + 3*4) / 100 = 0.54; kappa = 0.16 / 0.46 = 8/23
    assert cohen_kappa(a, b) == pytest.approx(8 / 23, abs=1e-12)
    assert cohen_kappa(["x", "y"], ["x", "y"]) == 1.0
    assert cohen_kappa(["x", "y"], ["y", "x"]) == pytest.approx(-1.0)
    assert cohen_kappa(["x", "x"], ["x", "x"]) == 1.0  # chance agreement is certain: nothing to correct
    with pytest.raises(ValueError, match="one length"):
        cohen_kappa(["x"], [])
    with pytest.raises(ValueError, match="at least one"):
        cohen_kappa([], [])
