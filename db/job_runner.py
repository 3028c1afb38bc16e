"""Run one claimed scoring job: each document's scores commit together with the job's progress, so a worker
killed mid-job leaves whole documents, and a resumed job skips the ones already scored (no duplicates)."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from engine.errors import DocreError
from engine.version import ENGINE_VERSION

from . import store, store_jobs
from .domain import JobInfo
from .pipeline import refresh_suggestions
from .session import session_scope

log = logging.getLogger(__name__)
LoadModel = Callable[[str], Any]  # checkpoint path -> Predictor
OnProgress = Callable[[int, int], None]  # (steps done, steps in all)


def run_job(factory_: sessionmaker[Session], job: JobInfo, worker_id: str, load_model: LoadModel,
            on_progress: OnProgress | None = None) -> int | None:
    """Score the job to the end and mark it done (returns the suggestions stored), or mark it failed with a
    message for users (returns None)."""
    try:
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
        for doc_id, doc in zip(doc_ids, docs):
            done += 1
            if doc_id in scored:  # a resumed job: stored by the worker before
                continue
            start = time.perf_counter()
            scores = model.predict([doc])[0]
            with session_scope(factory_) as s:
                store.save_pair_scores(s, run_ids[k], doc_id, scores)
                store.add_run_seconds(s, run_ids[k], time.perf_counter() - start)
                store_jobs.report_progress(s, job.id, worker_id, done=done)
            on_progress(done, job.total)
    n = refresh_suggestions(factory_, job.dataset_id, doc_ids, docs)
    with session_scope(factory_) as s:
        store_jobs.finish_job(s, job.id, worker_id)
    return n
