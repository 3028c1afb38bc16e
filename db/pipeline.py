"""Score stored documents and refresh their suggestions: the one path the Upload page's scoring jobs and
`python -m db import --score` both take (no Streamlit here)."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from engine.data.documents import Document
from engine.data.pair_scores import PairScores
from engine.version import ENGINE_VERSION

from . import store
from .session import session_scope

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]  # (steps done, steps in all, what is happening)


def score_documents(factory_: sessionmaker[Session], dataset_id: int, doc_ids: Sequence[int],
                    models: Sequence[tuple[str, Any]], progress: Progress | None = None) -> tuple[list[int], int]:
    """Score stored documents with each (checkpoint path, Predictor), save runs and pair scores, then refresh
    the dataset's suggestions from every run that scored them. Returns (new run ids, suggestions stored)."""
    with session_scope(factory_) as s:
        loaded = store.load_documents(s, list(doc_ids))
    docs = [loaded[i] for i in doc_ids]
    for _, model in models:  # every model's limits before the first run is stored: a refusal leaves no half job
        model.check_limits(docs)
    total = len(docs) * len(models) + 1
    report = progress or (lambda done, all_, message: None)
    run_ids = []
    for k, (path, model) in enumerate(models):
        offset = k * len(docs)
        report(offset, total, f"scoring with {model.method} ({k + 1}/{len(models)})")
        start = time.perf_counter()
        scores = model.predict(docs, progress=lambda done, _n, o=offset, m=model.method: report(
            o + done, total, f"scoring with {m}: {done}/{len(docs)} documents"))
        seconds = time.perf_counter() - start
        with session_scope(factory_) as s:
            run_id = store.record_run(s, dataset_id, checkpoint=path, method=model.method, version=ENGINE_VERSION,
                                           seconds=seconds, details={"documents": len(docs), "device": str(model.device)})
            for doc_id, sc in zip(doc_ids, scores):
                store.save_pair_scores(s, run_id, doc_id, sc)
        run_ids.append(run_id)
    report(total - 1, total, "ranking suspected false negatives")
    n = refresh_suggestions(factory_, dataset_id, doc_ids, docs)
    report(total, total, "done")
    return run_ids, n


def shipped_type_stats() -> Any:
    """The shipped type statistics, or None with a warning in the log and on the page when the file is missing
    or corrupt: the type rule is then neutral, as in the CLI, and the scoring job still stores its suggestions."""
    from engine.curate.type_stats import load_default_type_stats  # noqa: PLC0415

    stats, problem = load_default_type_stats()
    if problem:
        log.warning("%s", problem)
    return stats


def review_target(doc: Document) -> Document:
    """The document as suggestions see it: an unlabelled one counts as labelled-empty, so every confident
    prediction becomes a suggestion."""
    return doc if doc.has_labels else replace(doc, facts=())


def document_scores(s: Session, dataset_id: int,
                    doc_ids: Sequence[int]) -> Iterator[tuple[int, dict[str, PairScores], list[int]]]:
    """Per document that some run scored: (document id, {"method#run id": its PairScores}, those run ids).
    The one way suggestions combine runs, for the first ranking and for every re-ranking after a refit."""
    runs = store.list_runs(s, dataset_id)
    scored = {run.id: set(store.scored_document_ids(s, run.id)) for run in runs}
    for doc_id in doc_ids:
        mine = [run for run in runs if doc_id in scored[run.id]]
        if mine:
            yield (doc_id, {f"{run.method}#{run.id}": store.load_pair_scores(s, run.id, doc_id) for run in mine},
                   [run.id for run in mine])


def refresh_suggestions(factory_: sessionmaker[Session], dataset_id: int, doc_ids: Sequence[int],
                        docs: Sequence[Document], ranker: Any = None) -> int:
    """Rank every run's scores of these documents together (engine.curate.suggestions) and store the result.
    `ranker`: an engine.curate.ranker.Ranker (default: the shipped one, the formula without its file)."""
    from engine.curate.suggestions import default_ranker, default_relation_stats, suggest  # noqa: PLC0415

    stats = shipped_type_stats()
    # the shipped learned ranker, as `python -m engine suggest` uses by default (the formula without one)
    ranker, relation_stats = ranker if ranker is not None else default_ranker(), default_relation_stats()
    doc_of = dict(zip(doc_ids, docs))
    stored = 0
    with session_scope(factory_) as s:
        for doc_id, per_run, run_ids in document_scores(s, dataset_id, doc_ids):
            by_model = {name: [ps] for name, ps in per_run.items()}
            items = [{**sg.to_json(), "doc_id": doc_id}
                     for sg in suggest([review_target(doc_of[doc_id])], by_model, type_stats=stats, ranker=ranker,
                                       relation_stats=relation_stats)]
            if items:
                stored += len(store.add_suggestions(s, dataset_id, items, run_ids=run_ids))
    try:  # a grown queue gets its share of control items (none when off), in a transaction of its own
        with session_scope(factory_) as s:
            store.sync_controls(s, dataset_id)
    except Exception:  # the suggestions are stored; a failed top-up must not fail the scoring job
        log.exception("dataset %d: control items not brought in step; save the setting on Evaluate to retry",
                      dataset_id)
    if stored:
        keep_learned_order(factory_, dataset_id, ranker)
    return stored


def keep_learned_order(factory_: sessionmaker[Session], dataset_id: int, ranker: Any = None) -> None:
    """Once a dataset's ranker has been refitted on its decisions, new suggestions scored by the shipped ranker
    would sit in one queue with items the refitted ranker scored, two scales in one order: refit again (from
    every decision so far, seconds), so every pending item carries the refitted ranker's probability."""
    from .learning import refit_dataset  # noqa: PLC0415 - learning builds on this module

    with session_scope(factory_) as s:
        if store.latest_refit(s, dataset_id) is None:
            return
    try:
        refit_dataset(factory_, dataset_id, ranker=ranker)
    except Exception:  # the new suggestions are stored with the shipped ranker's scores
        log.exception("dataset %d: the new suggestions keep the shipped ranker's scores until the next refit",
                      dataset_id)
