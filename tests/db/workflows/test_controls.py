"""Control items (issue 14 point 6): off by default, mixed into the queue at the dataset's rate, looking like
any item, never in the export, never adjudicated, and each annotator's recall and precision on them."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from db import store
from db.store import models as m
from db.store.errors import ReviewError
from db.store.queries.controls import ABSENT, GOLD, control_kind, target_count
from db.store.session import session_scope
from db.workflows import controls as control_items
from engine.curate.support import build_support
from engine.data.documents import Fact
from engine.data.pair_scores import PairScores
from tests.db_support import tiny_document

RELS = ("P17", "P131", "P27", "P19", "P551")
GOLD_FACTS = (Fact(1, 2, "P17", (1,)), Fact(0, 1, "P551", (0,)), Fact(0, 2, "P27", ()))
REAL = ((1, 0, "P131"), (2, 1, "P19"), (2, 0, "P131"))  # per document: triples the gold lacks
N_DOCS = 6


def _scores(title: str, seed: int) -> PairScores:
    rng = np.random.default_rng(seed)
    pairs = [(h, t) for h in range(3) for t in range(3) if h != t]
    logits = rng.normal(0.0, 1.5, size=(len(pairs), len(RELS) + 1)).astype(np.float32)  # (n_pairs, n_rel + 1)
    probs = (1 / (1 + np.exp(-logits))).astype(np.float32)
    heads, tails = (np.array(x, dtype=np.int64) for x in zip(*pairs))
    return PairScores(title, "atlop.v1", RELS, heads, tails, logits, probs, logits[:, 1:] > logits[:, :1])


def build(factory) -> dict:  # the fixture, passed in
    """N_DOCS labelled, scored documents with three real suggestions each (18, distinct scores), and ann and
    bob (annotators) and cat (curator)."""
    with session_scope(factory) as s:
        dataset = store.create_dataset(s, "controls")
        docs = [tiny_document(f"Doc {i}", GOLD_FACTS) for i in range(N_DOCS)]
        doc_ids = list(store.add_documents(s, dataset.id, docs).added)
        run = store.record_run(s, dataset.id, checkpoint="runs/atlop", method="atlop.v1", version="0", seconds=1.0)
        items = []
        for k, (doc_id, doc) in enumerate(zip(doc_ids, docs)):
            ps = _scores(doc.title, k)
            store.save_pair_scores(s, run, doc_id, ps)
            for j, (h, t, r) in enumerate(REAL):
                support = build_support(doc, {f"atlop.v1#{run}": ps}, h, t, r, None, (),
                                        {"by": "ranker", "probability": 0.9 - 0.04 * (3 * k + j)})
                items.append({"doc_id": doc_id, "h_idx": h, "t_idx": t, "relation": r,
                              "score": round(0.9 - 0.04 * (3 * k + j), 6), "evidence": support.to_json()})
        real = store.add_suggestions(s, dataset.id, items, run_ids=[run])
        for name in ("ann", "bob"):
            store.ensure_annotator(s, name)
        store.ensure_annotator(s, "cat", role="curator")
    return {"dataset": dataset.id, "docs": doc_ids, "run": run, "real": real}


def enable(factory, dataset_id: int, rate: float,  # noqa: F811
           fully_labelled: list[int] | None = None) -> control_items.ControlSync:
    with session_scope(factory) as s:
        store.set_control_rate(s, dataset_id, rate, "cat")
        store.set_fully_labelled(s, dataset_id, fully_labelled, "cat")
        return control_items.sync_controls(s, dataset_id)


def controls(factory, dataset_id: int) -> dict[str, list[int]]:
    with session_scope(factory) as s:
        page = store.list_suggestions(s, dataset_id, {"control": True}, limit=500)
        out: dict[str, list[int]] = {GOLD: [], ABSENT: []}
        for item in page.items:
            out[control_kind(s, item.id)].append(item.id)
    return out


def test_controls_are_off_by_default(factory) -> None:
    ids = build(factory)
    with session_scope(factory) as s:
        settings = store.control_settings(s, ids["dataset"])
        assert (settings.rate, settings.enabled, settings.fully_labelled) == (0.0, False, ())
        assert control_items.sync_controls(s, ids["dataset"]) == control_items.ControlSync(0, 0, 0)
        assert store.list_suggestions(s, ids["dataset"]).total == len(ids["real"])
        assert store.control_counts(s, ids["dataset"]) == {GOLD: 0, ABSENT: 0}
        with pytest.raises(ValueError, match="control rate"):
            store.set_control_rate(s, ids["dataset"], 0.9, "cat")


def test_controls_are_mixed_at_the_rate_and_look_like_any_item(factory) -> None:
    ids = build(factory)
    sync = enable(factory, ids["dataset"], 0.25)
    n_real = len(ids["real"])
    assert sync.added == target_count(0.25, n_real) == 6
    with session_scope(factory) as s:
        page = store.list_suggestions(s, ids["dataset"], limit=500)
        assert page.total == n_real + 6
        kinds = [control_kind(s, item.id) for item in page.items]
        assert sum(k is not None for k in kinds) / page.total == pytest.approx(0.25)
        assert kinds.count(GOLD) == kinds.count(ABSENT) == 3
        positions = [i for i, k in enumerate(kinds) if k is not None]
        assert positions[0] > 0 and max(np.diff(positions)) <= 2 / 0.25 and min(np.diff(positions)) > 1  # spread
        real_view = page.items[0]
        gold_labels = {(f.h, f.t, f.r) for f in GOLD_FACTS}
        for item, kind in zip(page.items, kinds):
            if kind is None:
                continue
            assert ((item.h, item.t, item.relation) in gold_labels) == (kind == GOLD)
            assert (item.state, item.decisions) == ("pending", ())
            assert [src.run_id for src in item.sources] == [src.run_id for src in real_view.sources]
            control, real = item.sources[0].support, real_view.sources[0].support
            assert set(control.models) == set(real.models) and control.ranking["by"] == real.ranking["by"]
            assert control.ranking["probability"] == pytest.approx(item.score, abs=1e-5)
    assert enable(factory, ids["dataset"], 0.25).added == 0  # in step: nothing to do


def test_lowering_the_rate_removes_undecided_controls_only(factory) -> None:
    ids = build(factory)
    enable(factory, ids["dataset"], 0.25)
    first_gold = controls(factory, ids["dataset"])[GOLD][0]
    with session_scope(factory) as s:
        store.record_review(s, first_gold, "ann", "accept")
    assert enable(factory, ids["dataset"], 0.1).removed == 6 - target_count(0.1, len(ids["real"]))
    off = enable(factory, ids["dataset"], 0.0)
    assert off.total == 1  # the decided one stays, with its review
    assert controls(factory, ids["dataset"]) == {GOLD: [first_gold], ABSENT: []}
    assert enable(factory, ids["dataset"], 0.25, fully_labelled=[]).added == 5  # no document vouched: gold only
    assert controls(factory, ids["dataset"])[ABSENT] == []


def test_controls_never_reach_the_export_adjudication_nor_learning(factory) -> None:
    ids = build(factory)
    with session_scope(factory) as s:
        store.record_review(s, ids["real"][0], "ann", "accept")
        store.record_review(s, ids["real"][1], "ann", "reject")
        before = (store.export_json(s, ids["dataset"]), store.review_log_rows(s, ids["dataset"]),
                  store.relation_acceptance(s, ids["dataset"]), store.annotator_pairs(s, ids["dataset"]),
                  store.decision_items(s, ids["dataset"]), store.undecided_scores(s, ids["dataset"]))
    enable(factory, ids["dataset"], 0.25)
    kinds = controls(factory, ids["dataset"])
    with session_scope(factory) as s:
        store.record_review(s, kinds[GOLD][0], "ann", "accept")  # a gold label accepted: no duplicate, no error
        store.record_review(s, kinds[GOLD][1], "bob", "reject")  # a gold label rejected: must stay in the export
        store.record_review(s, kinds[ABSENT][0], "ann", "accept")  # an absent triple accepted: must not be added
        store.record_review(s, kinds[ABSENT][1], "ann", "accept")
        store.record_review(s, kinds[ABSENT][1], "bob", "reject")  # annotators disagree on a control
        assert store.get_suggestion(s, kinds[ABSENT][1]).state == "conflict"
    with session_scope(factory) as s:
        after = (store.export_json(s, ids["dataset"]), store.review_log_rows(s, ids["dataset"]),
                 store.relation_acceptance(s, ids["dataset"]), store.annotator_pairs(s, ids["dataset"]),
                 store.decision_items(s, ids["dataset"]), store.undecided_scores(s, ids["dataset"]))
        assert after == before  # nor what the ranker learns from, nor the queue's expected yield
        assert [d.facts for d in store.export_documents(s, ids["dataset"])] == \
            [d.facts for d in store.reviewed_documents(s, ids["docs"])]
        assert store.list_suggestions(s, ids["dataset"], {"state": "conflict", "control": False}).total == 0
        with pytest.raises(ReviewError, match="control item"):
            store.resolve_conflict(s, kinds[ABSENT][1], "cat", "reject")


def test_a_gold_control_does_not_give_its_label_away(factory) -> None:
    ids = build(factory)
    enable(factory, ids["dataset"], 0.25)
    gold = controls(factory, ids["dataset"])[GOLD][0]
    with session_scope(factory) as s:
        view = store.get_suggestion(s, gold)
        shown = store.pair_labels(s, view.document_id, view.h, view.t, exclude_suggestion=gold)
        assert view.relation not in shown.gold
        assert view.relation in store.pair_labels(s, view.document_id, view.h, view.t).gold
        store.record_review(s, gold, "ann", "accept")
    with session_scope(factory) as s:  # and its acceptance is no "accepted by review" label elsewhere
        assert store.pair_labels(s, view.document_id, view.h, view.t).accepted == ()


def test_recall_and_precision_per_annotator_by_hand(factory) -> None:
    ids = build(factory)
    enable(factory, ids["dataset"], 0.25)
    kinds = controls(factory, ids["dataset"])
    (g1, g2, g3), (a1, a2, a3) = kinds[GOLD], kinds[ABSENT]
    with session_scope(factory) as s:
        wrong = next(r for r in RELS if r not in store.pair_labels(s, *_pair(s, g2)).all())
        store.record_review(s, g1, "ann", "accept")
        store.record_review(s, g2, "ann", "accept", relation=wrong)  # accepted, but with the wrong relation
        store.record_review(s, g3, "ann", "reject")
        store.record_review(s, a1, "ann", "accept")
        store.record_review(s, a2, "ann", "reject")
        store.record_review(s, a3, "ann", "skip")
        store.record_review(s, g1, "bob", "accept")
        store.record_review(s, a1, "bob", "accept")
        store.undo_last_review(s, "bob")  # taken back: no decision on a1
        store.record_review(s, a2, "bob", "reject")
        store.record_review(s, ids["real"][0], "cat", "accept")  # real items never count
    with session_scope(factory) as s:
        ann, bob = store.control_scores(s, ids["dataset"])
    assert (ann.annotator, ann.gold_judged, ann.gold_accepted, ann.absent_judged, ann.absent_rejected,
            ann.accepted, ann.skipped) == ("ann", 3, 1, 2, 1, 3, 1)
    assert ann.recall == pytest.approx(1 / 3) and ann.precision == pytest.approx(1 / 3)
    assert (bob.gold_judged, bob.gold_accepted, bob.absent_judged, bob.accepted) == (1, 1, 1, 1)
    assert (bob.recall, bob.precision) == (1.0, 1.0)


def _pair(s, suggestion_id: int) -> tuple[int, int, int]:
    view = store.get_suggestion(s, suggestion_id)
    return view.document_id, view.h, view.t


def test_controls_join_a_split_queue(factory) -> None:
    ids = build(factory)
    with session_scope(factory) as s:
        store.split_queue(s, ids["dataset"], ["ann", "bob"], "round-robin")
    enable(factory, ids["dataset"], 0.25)
    with session_scope(factory) as s:
        assert store.assignment_counts(s, ids["dataset"]) == {"ann": 12, "bob": 12}
        owned = s.scalars(select(m.AssignmentRow.suggestion_id).where(
            m.AssignmentRow.suggestion_id.in_(select(m.ControlItemRow.suggestion_id)))).all()
    assert len(owned) == 6
