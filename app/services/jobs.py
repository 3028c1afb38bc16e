"""The store's scoring jobs for pages: enqueue, list a dataset's jobs, and the in-process worker thread the app
starts once per database unless DOCRE_WORKER=external says a team runs `python -m app.worker` instead."""
from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import streamlit as st

from db import store
from db.domain import JobInfo

from .resources import db_key, factory, session
from .worker_loop import serve

WORKER_ENV = "DOCRE_WORKER"


def external_worker() -> bool:
    return os.environ.get(WORKER_ENV, "").strip().lower() == "external"


@st.cache_resource(show_spinner=False)
def _worker(key: str) -> threading.Event:
    """One background worker per database and server process; it recovers stale jobs when it starts."""
    _ = key
    stop = threading.Event()
    threading.Thread(target=serve, args=(factory(), stop), name="docre-job-worker", daemon=True).start()
    return stop


def ensure_worker() -> None:
    """Start the in-process worker unless an external one is configured."""
    if not external_worker():
        _worker(db_key())


def enqueue(dataset_id: int, doc_ids: Sequence[int], model_paths: Sequence[str], requested_by: str) -> int:
    with session() as s:
        job_id = store.enqueue_job(s, dataset_id, doc_ids, model_paths, requested_by)
    ensure_worker()
    return job_id


def jobs(dataset_id: int) -> list[JobInfo]:
    """A dataset's jobs, newest first (read fresh: the page polls while one runs)."""
    with session() as s:
        return store.list_jobs(s, dataset_id)


def job_rows(jobs_: Sequence[JobInfo]) -> list[dict[str, object]]:
    """Plain cells for a dataframe (never HTML): the text a user typed stays text."""
    return [{"job": j.id, "status": j.status, "progress": j.fraction, "done": f"{j.done}/{j.total}",
             "requested by": j.requested_by, "models": len(j.checkpoints), "error": j.error or ""} for j in jobs_]
