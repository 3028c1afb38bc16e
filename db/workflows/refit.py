"""A review queue that learns: refit the ranker on a dataset's decisions and re-score its pending suggestions
(engine.curate.feedback), the path the Review page's background refit takes (no Streamlit here).

The refit always starts from the shipped ranker (its default training rows plus every current decision on
the dataset), so each refit sees all the decisions so far, never a refit of a refit. Pending suggestions get
the refitted ranker's calibrated probabilities with the labels as they stand (gold plus accepted decisions);
decided triples are left out, so they are never suggested again and keep the score they were decided on."""
from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from .. import store
from ..store.domain import RefitInfo
from ..store.session import session_scope
from .queue_inputs import document_scores, review_target, shipped_type_stats, without_labels

log = logging.getLogger(__name__)


def refit_dataset(factory_: sessionmaker[Session], dataset_id: int, *, ranker: Any = None,
                  weighting: Any = None) -> RefitInfo | None:
    """Refit `ranker` (default: the shipped one) on the dataset's current decisions, re-score its pending
    suggestions and log the refit; None when there is no learned ranker or no decision to learn from.
    `weighting`: an engine.curate.feedback.FeedbackWeighting (default: the engine's). Takes seconds: call it
    off the page's thread. Decisions recorded while it runs count towards the next refit."""
    from engine.curate.decisions import decisions_from_json  # noqa: PLC0415 - LightGBM only when learning
    from engine.curate.feedback import FeedbackWeighting, learn_from_decisions  # noqa: PLC0415
    from engine.curate.queue import build_queue, rank_pending  # noqa: PLC0415
    from engine.curate.suggestions import default_ranker, default_relation_stats  # noqa: PLC0415

    start = time.perf_counter()
    base = ranker if ranker is not None else default_ranker()
    with session_scope(factory_) as s:
        items = store.decision_items(s, dataset_id)
        if base is None or not items:
            return None
        scored = list(document_scores(s, dataset_id, store.document_ids(s, dataset_id)))
        loaded = store.load_documents(s, [doc_id for doc_id, _, _ in scored])
        removed = store.confirmed_removals(s, list(loaded))  # gold labels a curator confirmed wrong are gone
    decisions = decisions_from_json(items, source=f"dataset {dataset_id} reviews")
    documents = [review_target(without_labels(loaded[doc_id], removed.get(doc_id, set()))) for doc_id, _, _ in scored]
    names = sorted({name for _, per_run, _ in scored for name in per_run})
    scores = {name: [per_run.get(name) for _, per_run, _ in scored] for name in names}  # aligned with documents
    type_stats, relation_stats = shipped_type_stats(), default_relation_stats()
    queue = build_queue(documents, scores, slots=base.slots, pool=base.pool, type_stats=type_stats,
                        missing_rates=base.missing_rates, relation_stats=relation_stats)
    refitted = learn_from_decisions(documents, scores, decisions, ranker=base, queue=queue,
                                    weighting=weighting if weighting is not None else FeedbackWeighting())
    ranked = rank_pending(queue, refitted, decisions)
    keys = queue.keys()
    new_scores: dict[tuple[int, int, int, str], float] = {}
    for row, p in zip(ranked.rows.tolist(), ranked.probabilities.tolist()):
        i, h, t, r = keys[row]  # i: position in `scored`
        new_scores[(scored[i][0], h, t, r)] = round(p, 6)  # as engine.curate.suggestions stores them
    with session_scope(factory_) as s:
        rescored = store.rescore_suggestions(s, dataset_id, new_scores)
        info = store.record_refit(s, dataset_id, decisions=len(items), accepted=sum(i["decision"] == "accept"
                                                                                    for i in items),
                                  rescored=rescored, seconds=time.perf_counter() - start)
    return info
