"""Scoring jobs for pages, one mechanism: a job is a row in the store (`db.store.queries.jobs`) that a worker runs
(`db.workflows.worker`: the in-process thread the app starts once per database, or `python -m app.worker` when
DOCRE_WORKER=external) and that pages poll. The app keeps no copy of a job in memory."""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from datetime import datetime

import streamlit as st

from db import store
from db.store.clock import utc_now
from db.store.domain import JobInfo
from db.store.errors import NotFoundError
from db.workflows.worker import STALE_SECONDS, serve

from .resources import db_key, factory, predictor, session

WORKER_ENV = "DOCRE_WORKER"
FINISHED = ("done", "failed")


def external_worker() -> bool:
    return os.environ.get(WORKER_ENV, "").strip().lower() == "external"


def _load(path: str):  # -> engine.serve.predictor.Predictor
    """The app's cached model loader, looked up per job."""
    return predictor(path)


@st.cache_resource(show_spinner=False)
def _worker(key: str) -> threading.Event:
    """One background worker per database and server process; it recovers stale jobs when it starts. It loads
    models through the app's cache, so the pages and the worker share one copy of each."""
    _ = key
    stop = threading.Event()
    threading.Thread(target=serve, args=(factory(), stop), kwargs={"load": _load}, name="docre-job-worker",
                     daemon=True).start()
    return stop


def ensure_worker() -> None:
    """Start the in-process worker unless an external one is configured."""
    if not external_worker():
        _worker(db_key())


@st.cache_resource(show_spinner=False)
def _started(key: str) -> tuple[JobInfo, ...]:
    _ = key
    with session() as s:
        recovered = tuple(store.recover_stale_jobs(s))
        waiting = any(j.status in ("queued", "running") for j in store.list_jobs(s))  # running: may go stale
    if waiting:
        ensure_worker()
    return recovered


def start_up() -> tuple[JobInfo, ...]:
    """Once per server process and database (app start-up): re-queue the jobs a stopped server or worker left
    running, and resume them (and any queued job) in the in-process worker unless DOCRE_WORKER=external. Without
    this, a job whose thread died with the old server stayed "running" in the jobs table for ever."""
    return _started(db_key())


def enqueue(dataset_id: int, doc_ids: Sequence[int], model_paths: Sequence[str], requested_by: str) -> int:
    with session() as s:
        job_id = store.enqueue_job(s, dataset_id, doc_ids, model_paths, requested_by)
    ensure_worker()
    return job_id


def start_scoring(dataset_id: int, doc_ids: Sequence[int], model_paths: Sequence[str],
                  requested_by: str = "local") -> int:
    """Load the models here first (cached; a broken checkpoint is a resources.ModelError and nothing is queued),
    then queue the job for the worker; returns the job's id to poll."""
    for path in model_paths:
        predictor(path)
    return enqueue(dataset_id, doc_ids, model_paths, requested_by)


def get(job_id: int) -> JobInfo | None:
    """The job's row as it stands (None once its dataset is gone)."""
    with session() as s:
        try:
            return store.get_job(s, job_id)
        except NotFoundError:
            return None


def wait(job_id: int, timeout: float = 600.0) -> JobInfo | None:
    """Block until the job is done or failed (tests, scripts); its last state on timeout."""
    deadline = time.monotonic() + timeout
    while (job := get(job_id)) is not None and job.status not in FINISHED and time.monotonic() < deadline:
        time.sleep(0.05)
    return job


def jobs(dataset_id: int) -> list[JobInfo]:
    """A dataset's jobs, newest first (read fresh: the page polls while one runs)."""
    with session() as s:
        listed = store.list_jobs(s, dataset_id)
    if any(status_label(j).startswith("stalled") for j in listed):
        ensure_worker()  # local mode: this process's worker re-queues and resumes it (no-op if external/started)
    return listed


def status_label(job: JobInfo, stale_seconds: float = STALE_SECONDS, now: datetime | None = None) -> str:
    """The status a user reads: a queued job that had started was stopped (e.g. by a restart) and resumes; a
    running job whose worker stopped beating is shown as stalled, not as running."""
    if job.status == "queued" and job.started_at is not None:
        return "queued to resume"
    age = store.heartbeat_age(job, now)
    if age is not None and age > stale_seconds:
        return (f"stalled: no heartbeat for {age:.0f} s, its worker seems stopped; a running worker re-queues it "
                "(start one with `python -m app.worker` if none runs)")
    return job.status


def elapsed(job: JobInfo, now: datetime | None = None) -> str:
    """How long the job has run ("4 min 05 s"; to its end once finished), "" before it started."""
    if job.started_at is None:
        return ""
    seconds = int(((job.finished_at or now or utc_now()) - job.started_at).total_seconds())
    minutes, seconds = divmod(max(seconds, 0), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def progress_text(job: JobInfo, now: datetime | None = None) -> str:
    """What a progress bar says: "running: 12/30 steps, 4 min 05 s elapsed" (a long document is several steps,
    db.workflows.job_steps, so the count moves while it is scored)."""
    since = elapsed(job, now)
    return f"{status_label(job, now=now)}: {job.done}/{job.total} steps" + (f", {since} elapsed" if since else "")


def job_rows(jobs_: Sequence[JobInfo]) -> list[dict[str, object]]:
    """Plain cells for a dataframe (never HTML): the text a user typed stays text."""
    return [{"job": j.id, "status": status_label(j), "progress": j.fraction, "done": f"{j.done}/{j.total}",
             "elapsed": elapsed(j), "requested by": j.requested_by, "models": len(j.checkpoints),
             "error": j.error or ""} for j in jobs_]


def unfinished_job_for(dataset_id: int, doc_id: int) -> JobInfo | None:
    """The newest scoring job not done yet that scores this document (its scores show once it is done); a
    fine-tune job reads the document but scores nothing."""
    return next((j for j in jobs(dataset_id) if j.kind == "score" and j.status != "done" and doc_id in j.document_ids),
                None)
