"""Run one claimed scoring job: each chunk of documents' scores commits together with the job's progress, so a
worker killed mid-job leaves whole documents, and a resumed job skips the ones already scored (no duplicates)."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from engine.errors import DocreError
from engine.serve.native_memory import release_freed_memory
from engine.version import ENGINE_VERSION

from . import store, store_jobs
from .domain import JobInfo
from .job_heartbeat import JobHeartbeat
from .pipeline import refresh_suggestions
from .session import session_scope
from .store_jobs import HEARTBEAT_SECONDS

log = logging.getLogger(__name__)
LoadModel = Callable[[str], Any]  # checkpoint path -> Predictor
OnProgress = Callable[[int, int], None]  # (steps done, steps in all)
CHUNK_DOCS = 8  # documents scored and committed together


def run_job(factory_: sessionmaker[Session], job: JobInfo, worker_id: str, load_model: LoadModel,
            on_progress: OnProgress | None = None, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> int | None:
    """Score the job to the end and mark it done (returns the suggestions stored), or mark it failed with a
    message for users (returns None). Its heartbeat beats on its own thread all the while."""
    try:
        with JobHeartbeat(factory_, job.id, worker_id, heartbeat_seconds):
            return _score(factory_, job, worker_id, load_model, on_progress or (lambda done, total: None))
    except store_jobs.JobLostError as err:
        log.warning("%s", err)
        return None
    except Exception as err:  # noqa: BLE001 - recorded on the job for the page, logged in full here
        log.exception("scoring job %s failed", job.id)
        message = (f"nothing was scored, the stored documents are kept. {err}" if isinstance(err, DocreError)
                   else f"scoring job {job.id} failed: an internal error stopped it; the server log has the details")
        with session_scope(factory_) as s:
            store_jobs.fail_job(s, job.id, message)
        return None


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
    run_ids = list(job.run_ids)
    done = 0
    for k, (path, model) in enumerate(models):
        if k >= len(run_ids):  # the run and the job's pointer to it commit together
            with session_scope(factory_) as s:
                run_ids.append(store.record_run(s, job.dataset_id, checkpoint=path, method=model.method,
                                                version=ENGINE_VERSION, seconds=0.0,
                                                details={"documents": len(docs), "device": str(model.device),
                                                         "job_id": job.id}))
                store_jobs.report_progress(s, job.id, worker_id, run_ids=run_ids)
        with session_scope(factory_) as s:
            scored = set(store.scored_document_ids(s, run_ids[k]))
        done += len(scored & set(doc_ids))  # a resumed job: stored by the worker before
        for chunk in _length_chunks([(i, d) for i, d in zip(doc_ids, docs) if i not in scored]):
            start = time.perf_counter()
            scores = model.predict([doc for _, doc in chunk])
            with session_scope(factory_) as s:
                for (doc_id, _), doc_scores in zip(chunk, scores, strict=True):
                    store.save_pair_scores(s, run_ids[k], doc_id, doc_scores)
                store.add_run_seconds(s, run_ids[k], time.perf_counter() - start)
                done += len(chunk)
                store_jobs.report_progress(s, job.id, worker_id, done=done)
            on_progress(done, job.total)
            release_freed_memory()  # the chunk's tensors are gone; give their pages back (see native_memory)
    n = refresh_suggestions(factory_, job.dataset_id, doc_ids, docs)
    with session_scope(factory_) as s:
        store_jobs.finish_job(s, job.id, worker_id)
    return n
