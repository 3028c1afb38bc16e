"""Scoring: score stored documents with models, store runs and pair scores, and refresh the dataset's
suggestions. One path for both callers: a claimed scoring job (`run_job`, what the worker runs for the Upload
page; each chunk of documents' scores commits together with the job's progress, so a worker killed mid-job
leaves whole documents, and a resumed job skips the ones already scored) and `python -m db import --score`
(`score_documents`, in one go). No Streamlit here."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from engine.data.documents import Document
from engine.serve.native_memory import release_freed_memory
from engine.version import ENGINE_VERSION

from .. import store
from ..store.domain import JobInfo
from ..store.queries.jobs import HEARTBEAT_SECONDS
from ..store.session import session_scope
from .controls import sync_controls
from .job_heartbeat import run_beating
from .job_steps import ChunkProgress, document_steps, job_steps
from .queue_inputs import document_scores, review_target, shipped_type_stats
from .refit import refit_dataset

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]  # (steps done, steps in all, what is happening)
LoadModel = Callable[[str], Any]  # checkpoint path -> Predictor
OnProgress = Callable[[int, int], None]  # (steps done, steps in all)
CHUNK_DOCS = 8  # documents scored and committed together


def score_documents(factory_: sessionmaker[Session], dataset_id: int, doc_ids: Sequence[int],
                    models: Sequence[tuple[str, Any]], progress: Progress | None = None) -> tuple[list[int], int]:
    """Score stored documents with each (checkpoint path, Predictor), save their pair scores in the dataset's run
    of that model (store.run_of_model: one per model, made on first use), then refresh the dataset's suggestions
    from every run that scored them. Returns (the runs scored into, suggestions stored)."""
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
            run_id = store.run_of_model(s, dataset_id, checkpoint=path, method=model.method, version=ENGINE_VERSION,
                                        details={"device": str(model.device)})
            store.add_run_seconds(s, run_id, seconds)
            for doc_id, sc in zip(doc_ids, scores):
                store.save_pair_scores(s, run_id, doc_id, sc)
        run_ids.append(run_id)
    report(total - 1, total, "ranking suspected false negatives")
    n = refresh_suggestions(factory_, dataset_id, doc_ids, docs)
    report(total, total, "done")
    return run_ids, n


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
            sync_controls(s, dataset_id)
    except Exception:  # noqa: BLE001 - the suggestions are stored; a failed top-up must not fail the scoring job
        log.exception("dataset %d: control items not brought in step; save the setting on Evaluate to retry",
                      dataset_id)
    if stored:
        keep_learned_order(factory_, dataset_id, ranker)
    return stored


def keep_learned_order(factory_: sessionmaker[Session], dataset_id: int, ranker: Any = None) -> None:
    """Once a dataset's ranker has been refitted on its decisions, new suggestions scored by the shipped ranker
    would sit in one queue with items the refitted ranker scored, two scales in one order: refit again (from
    every decision so far, seconds), so every pending item carries the refitted ranker's probability."""
    with session_scope(factory_) as s:
        if store.latest_refit(s, dataset_id) is None:
            return
    try:
        refit_dataset(factory_, dataset_id, ranker=ranker)
    except Exception:  # noqa: BLE001 - the new suggestions are stored with the shipped ranker's scores
        log.exception("dataset %d: the new suggestions keep the shipped ranker's scores until the next refit",
                      dataset_id)


def run_job(factory_: sessionmaker[Session], job: JobInfo, worker_id: str, load_model: LoadModel,
            on_progress: OnProgress | None = None, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> int | None:
    """Score the job to the end and mark it done (returns the suggestions stored), or mark it failed with a
    message for users (returns None). Its heartbeat beats on its own thread all the while."""
    return run_beating(factory_, job, worker_id, heartbeat_seconds,
                       lambda: _score(factory_, job, worker_id, load_model, on_progress or (lambda done, total: None)),
                       kind="scoring", user_error="nothing was scored, the stored documents are kept.")


def _length_chunks(pending: list[tuple[int, Any]]) -> list[list[tuple[int, Any]]]:
    """(document id, Document) pairs longest first, CHUNK_DOCS at a time: each chunk is one predict call, so
    the predictor batches documents of similar length as it does for a whole file (one document per call
    pads nothing but runs the encoder on batches of one: 3.4x the time on 32 held-out documents, medians of 3
    paired rounds on a loaded 2-core machine), and one commit, so a killed worker loses at most the chunk in
    flight."""
    ordered = sorted(pending, key=lambda item: -item[1].num_tokens)
    return [ordered[i:i + CHUNK_DOCS] for i in range(0, len(ordered), CHUNK_DOCS)]


def _score(factory_: sessionmaker[Session], job: JobInfo, worker_id: str, load_model: LoadModel,
           on_progress: OnProgress) -> int:
    doc_ids = list(job.document_ids)
    with session_scope(factory_) as s:
        loaded = store.load_documents(s, doc_ids)
    docs = [loaded[i] for i in doc_ids]
    models = [(path, load_model(path)) for path in job.checkpoints]
    for _, model in models:  # every model's limits before anything is stored
        model.check_limits(docs)
    total = job_steps(docs, len(models))  # steps within long documents too (job_steps); known once loaded
    run_ids = list(job.run_ids)
    done = 0
    with session_scope(factory_) as s:
        store.report_progress(s, job.id, worker_id, total=total)
    for k, (path, model) in enumerate(models):
        resumed = k < len(run_ids)  # this job stored some of the model's documents before its worker stopped
        if not resumed:  # the model's run on the dataset (one per model) and the job's pointer commit together
            with session_scope(factory_) as s:
                run_ids.append(store.run_of_model(s, job.dataset_id, checkpoint=path, method=model.method,
                                                  version=ENGINE_VERSION,
                                                  details={"device": str(model.device), "job_id": job.id}))
                store.report_progress(s, job.id, worker_id, run_ids=run_ids)
        with session_scope(factory_) as s:  # a fresh job rescores all its documents; a resumed one skips stored ones
            scored = set(store.scored_document_ids(s, run_ids[k])) if resumed else set()
        done += sum(document_steps(d) for i, d in zip(doc_ids, docs) if i in scored)  # stored by the worker before
        for chunk in _length_chunks([(i, d) for i, d in zip(doc_ids, docs) if i not in scored]):
            done = _score_chunk(factory_, job, worker_id, model, run_ids[k], chunk, done, total, on_progress)
    n = refresh_suggestions(factory_, job.dataset_id, doc_ids, docs)
    with session_scope(factory_) as s:
        store.finish_job(s, job.id, worker_id, suggestions=n)
    return n


def _score_chunk(factory_: sessionmaker[Session], job: JobInfo, worker_id: str, model: Any, run_id: int,
                 chunk: list[tuple[int, Document]], done: int, total: int, on_progress: OnProgress) -> int:
    """Score one chunk, store its scores with the job's progress in one commit, and return the steps done. Its
    own function, so the chunk's scores are freed before the next chunk or the ranking (they are hundreds of
    MB for a long document), and the heap is trimmed after it as `predict` trims after each window."""
    def report(steps: int) -> None:  # progress within the chunk: a long document's pairs as they are scored
        with session_scope(factory_) as s:
            store.report_progress(s, job.id, worker_id, done=steps)
        on_progress(steps, total)

    start = time.perf_counter()
    scores = model.predict([doc for _, doc in chunk], pair_progress=ChunkProgress([d for _, d in chunk], done, report))
    encoded = [store.encode_scores(doc_scores) for doc_scores in scores]
    del scores  # the arrays go before the write, whose driver copies each blob (store.EncodedScores)
    release_freed_memory()  # the chunk's tensors are gone; give their pages back (see native_memory)
    with session_scope(factory_) as s:
        for (doc_id, _), doc_encoded in zip(chunk, encoded, strict=True):
            store.save_pair_scores(s, run_id, doc_id, doc_encoded)
        store.add_run_seconds(s, run_id, time.perf_counter() - start)
        done += sum(document_steps(d) for _, d in chunk)
        store.report_progress(s, job.id, worker_id, done=done)
    on_progress(done, total)
    del encoded
    release_freed_memory()
    return done
