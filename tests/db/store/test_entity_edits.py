"""Entity editing after storing: every edit a version in an insert-only log (who, when, the entity set before and
after); labels, suggestions and their reviews follow a merge, a split flags them; stored pair scores keep every
pair the edit did not touch. SQLite always, PostgreSQL if set."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from db import store
from db.store import models as m
from db.store.session import session_scope
from engine.data.documents import Document, Entity, Fact, Mention
from engine.data.pair_scores import PairScores
from tests.db_support import seed

CURIE = Document(
    title="Curie",
    sents=(("Marie", "Curie", "lived", "in", "Paris", "."), ("Curie", "left", "France", ".")),
    entities=(
        Entity((Mention("Marie Curie", 0, 0, 2, "PER"),)),
        Entity((Mention("Paris", 0, 4, 5, "LOC"),)),
        Entity((Mention("Curie", 1, 0, 1, "ORG"),)),  # what ingest made of the surname
        Entity((Mention("France", 1, 2, 3, "LOC"),)),
    ),
    facts=(Fact(0, 1, "P551", (0,)), Fact(2, 1, "P551", ()), Fact(1, 3, "P17", ())),
)


def fake_scores(n: int, seed_: int = 0) -> PairScores:
    """Scores of every ordered pair of n entities, distinct per pair."""
    pairs = [(h, t) for h in range(n) for t in range(n) if h != t]
    logits = np.random.default_rng(seed_).normal(size=(len(pairs), 3)).astype(np.float32)
    return PairScores("Curie", "atlop.v1", ("P17", "P551"), np.array([h for h, _ in pairs]),
                      np.array([t for _, t in pairs]), logits, logits.copy(), logits[:, 1:] > logits[:, :1])


def curie(factory) -> dict:  # noqa: F811 - the fixture, passed in
    with session_scope(factory) as s:
        dataset = store.create_dataset(s, "curie")
        (doc,) = store.add_documents(s, dataset.id, [CURIE]).added
        run = store.record_run(s, dataset.id, checkpoint="runs/atlop", method="atlop.v1", version="0", seconds=1.0)
        store.save_pair_scores(s, run, doc, fake_scores(4))
        ids = store.add_suggestions(s, dataset.id, [
            {"doc_id": doc, "h_idx": h, "t_idx": t, "relation": "P27", "score": sc} for h, t, sc in
            [(0, 3, 0.4), (2, 3, 0.7), (0, 2, 0.2)]], run_ids=[run])
        store.ensure_annotator(s, "ann")
        store.record_review(s, ids[1], "ann", "accept")  # (Curie, France, P27) accepted
    return {"dataset": dataset.id, "doc": doc, "run": run, "suggestions": ids}


def test_merge_repoints_labels_suggestions_and_reviews_and_keeps_untouched_scores(factory) -> None:  # noqa: F811
    ids = curie(factory)
    with session_scope(factory) as s:
        old = store.load_pair_scores(s, ids["run"], ids["doc"])
        n_reviews = s.scalar(select(func.count()).select_from(m.ReviewRow))
        edit = store.merge_entities(s, ids["doc"], "ann", a=2, b=0)
    with session_scope(factory) as s:
        doc = store.load_document(s, ids["doc"])
        new = store.load_pair_scores(s, ids["run"], ids["doc"])
        (kept,) = [v for v in store.list_suggestions(s, ids["dataset"]).items if (v.h, v.t) == (0, 2)]
        (exported,) = store.export_json(s, ids["dataset"])
        assert s.scalar(select(func.count()).select_from(m.ReviewRow)) == n_reviews  # no review lost
    assert (edit.version, edit.kind, edit.details["kept"], edit.details["merged"]) == (1, "merge", 0, 2)
    assert [[x.name for x in e.mentions] for e in doc.entities] == [["Marie Curie", "Curie"], ["Paris"], ["France"]]
    assert {x.type for x in doc.entities[0].mentions} == {"PER"}
    assert sorted((f.h, f.t, f.r) for f in doc.facts) == [(0, 1, "P551"), (1, 2, "P17")]
    assert edit.details["merged_labels"] == [[0, 1, "P551"]]
    assert (kept.state, kept.accepted_relation, kept.score) == ("accepted", "P27", 0.7)  # the review followed
    assert edit.details["dropped_suggestions"] == [ids["suggestions"][2]]  # pending, between the merged two
    assert len(exported["vertexSet"]) == 3 and (0, 2, "P27") in {(lb["h"], lb["t"], lb["r"])
                                                                 for lb in exported["labels"]}
    # the pair (Paris, France) was (1, 3) and is (1, 2): the same scores, bit for bit
    assert np.array_equal(new.logits[new.pair(1, 2)], old.logits[old.pair(1, 3)])
    assert np.array_equal(new.logits[new.pair(2, 1)], old.logits[old.pair(3, 1)])
    assert len(new.heads) == 6 and edit.details["affected"] == [0]


def test_merge_refused_when_a_label_links_the_two(factory) -> None:  # noqa: F811
    ids = curie(factory)
    with pytest.raises(store.EntityEditError, match="gold label"), session_scope(factory) as s:
        store.merge_entities(s, ids["doc"], "ann", a=1, b=3)
    with session_scope(factory) as s:
        assert store.edit_log(s, ids["doc"]) == [] and len(store.entity_set(s, ids["doc"])) == 4


def test_versions_are_kept_and_each_edit_says_who_and_when(factory) -> None:  # noqa: F811
    ids = curie(factory)
    with session_scope(factory) as s:
        store.set_type(s, ids["doc"], "ann", entity=2, entity_type="PER")
        store.add_mention(s, ids["doc"], "ann", sent_id=0, start=0, end=1, entity=0)  # "Marie"
        store.add_mention(s, ids["doc"], "ann", sent_id=1, start=1, end=2, entity_type="MISC")  # a new entity
        with pytest.raises(store.EntityEditError, match="already a mention"):
            store.add_mention(s, ids["doc"], "ann", sent_id=0, start=4, end=5, entity=3)
        with pytest.raises(store.EntityEditError, match="not a span"):
            store.add_mention(s, ids["doc"], "ann", sent_id=1, start=3, end=9, entity=3)
        with pytest.raises(store.EntityEditError, match="only one"):
            store.remove_mention(s, ids["doc"], "ann", entity=1, mention=0)
        store.remove_mention(s, ids["doc"], "ann", entity=0, mention=1)
    with session_scope(factory) as s:
        log = store.edit_log(s, ids["doc"])
        v0, v2, v4 = (store.entity_set_at(s, ids["doc"], v) for v in (0, 2, 4))
        doc = store.load_document(s, ids["doc"])
    assert [(e.version, e.kind, e.annotator) for e in log] == [
        (1, "set_type", "ann"), (2, "add_mention", "ann"), (3, "add_mention", "ann"), (4, "remove_mention", "ann")]
    assert all(e.created_at.tzinfo is not None for e in log)
    assert [x["name"] for x in v0[0]] == ["Marie Curie"] and v0[2][0]["type"] == "ORG"
    assert [x["name"] for x in v2[0]] == ["Marie Curie", "Marie"] and v2[2][0]["type"] == "PER"
    assert len(v4) == 5 and [x["name"] for x in v4[0]] == ["Marie Curie"]
    assert doc.entities[4].mentions[0].name == "left" and doc.entities[2].type == "PER"


def test_split_moves_mentions_to_a_new_entity_and_flags_what_pointed_at_it(factory) -> None:  # noqa: F811
    ids = seed(factory, [(1, 0, "P150", 0.5)])  # tiny_document: Paris (entity 1) has two mentions
    with session_scope(factory) as s:
        store.record_review(s, ids["suggestions"][0], "ann", "reject")
        edit = store.split_entity(s, ids["doc"], "ann", entity=1, mentions=[1])
        with pytest.raises(store.EntityEditError, match="some but not all"):
            store.split_entity(s, ids["doc"], "ann", entity=0, mentions=[0])
    with session_scope(factory) as s:
        doc = store.load_document(s, ids["doc"])
    assert [(x.sent_id, x.start) for x in doc.entities[1].mentions] == [(0, 4)]
    assert [(x.sent_id, x.start) for x in doc.entities[3].mentions] == [(1, 0)]
    assert edit.details["flagged"] == [
        {"what": "label", "h": 1, "t": 2, "r": "P17"},
        {"what": "suggestion", "id": ids["suggestions"][0], "h": 1, "t": 0, "r": "P150"}]
    assert edit.details["affected"] == [1, 3]


def test_the_edit_log_is_insert_only(factory) -> None:  # noqa: F811
    ids = curie(factory)
    with session_scope(factory) as s:
        store.set_type(s, ids["doc"], "ann", entity=2, entity_type="PER")
    with pytest.raises(ValueError, match="insert-only"), session_scope(factory) as s:
        s.scalar(select(m.EntityEditRow)).kind = "merge"


class FakePredictor:
    """Scores every pair of the document it is given with fixed, recognisable values (a stand-in model)."""

    def __init__(self) -> None:
        self.seen: list[Document] = []

    def predict(self, docs: list[Document]) -> list[PairScores]:
        self.seen += docs
        return [fake_scores(len(d.entities), seed_=7) for d in docs]


def test_rescore_after_an_edit_replaces_only_the_affected_pairs(factory) -> None:  # noqa: F811
    from db.workflows.entity_rescore import rescore_affected  # noqa: PLC0415 - the workflow under test

    ids = curie(factory)
    with session_scope(factory) as s:
        edit = store.add_mention(s, ids["doc"], "ann", sent_id=1, start=1, end=2, entity_type="MISC")  # entity 4
        store.set_type(s, ids["doc"], "ann", entity=2, entity_type="PER")
        old = store.load_pair_scores(s, ids["run"], ids["doc"])
    model = FakePredictor()
    assert rescore_affected(factory, ids["doc"], [2, 4], lambda path: model) == 1
    with session_scope(factory) as s:
        new = store.load_pair_scores(s, ids["run"], ids["doc"])
    fresh = fake_scores(5, seed_=7)  # stored exactly (the NumPy archive, engine.data.pair_scores_npz)
    assert len(model.seen) == 1 and len(model.seen[0].entities) == 5
    assert len(new.heads) == 20  # every ordered pair of the 5 entities
    for h in range(5):
        for t in range(5):
            if h == t:
                continue
            source = fresh if {h, t} & {2, 4} else old
            assert np.array_equal(new.logits[new.pair(h, t)], source.logits[source.pair(h, t)]), (h, t)
    assert edit.details["affected"] == [4]
