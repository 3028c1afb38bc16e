"""Scoring documents with models and refreshing the review queue, in a worker thread outside the script
rerun; the page polls the job's progress. Reads of runs and pair scores are cached by id."""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from db import store
from db.domain import RunInfo
from db.job_runner import run_job

# the pipeline itself lives in db.pipeline (no Streamlit there): `python -m db import --score` takes the same path
from db.pipeline import Progress, refresh_suggestions, score_documents  # noqa: F401 - re-exported
from db.session import session_scope
from engine.data.pair_scores import PairScores
from engine.errors import DocreError

from .resources import db_key, default_model_path, factory, predictor, session

log = logging.getLogger(__name__)


@dataclass
class Job:
    """A scoring job's progress, shared between its worker thread and the page that polls it."""

    id: str
    dataset_id: int
    total: int
    done: int = 0
    message: str = "queued"
    finished: bool = False
    error: str | None = None
    run_ids: list[int] = field(default_factory=list)
    n_suggestions: int = 0

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 1.0


class _Jobs:
    """Thread-safe job table (one per server process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[str, Job] = {}

    def update(self, job_id: str, **changes: Any) -> None:
        with self.lock:
            job = self.jobs[job_id]
            for key, value in changes.items():
                setattr(job, key, value)

    def snapshot(self, job_id: str) -> Job | None:
        with self.lock:
            job = self.jobs.get(job_id)
            return None if job is None else replace(job, run_ids=list(job.run_ids))


@st.cache_resource(show_spinner=False)
def _jobs() -> _Jobs:
    return _Jobs()


def type_stats_warning() -> str | None:
    """Why the type rule is neutral (the shipped statistics are missing or corrupt), for pages to show."""
    from engine.curate.type_stats import load_default_type_stats  # noqa: PLC0415

    return load_default_type_stats()[1]


def _worker(job_id: str, factory_: sessionmaker[Session], store_job: int, models: dict[str, Any]) -> None:
    """Run the store's job here when no other worker took it first, else follow that worker's progress."""
    jobs = _jobs()
    me = f"app-thread:{job_id}"
    with session_scope(factory_) as s:
        claimed = store.claim_job(s, store_job, me)
    if claimed is not None:
        n = run_job(factory_, claimed, me, models.__getitem__,
                    lambda done, total: jobs.update(job_id, done=done, total=total + 1,
                                                    message=f"scoring: {done}/{total} steps"))
        jobs.update(job_id, n_suggestions=n or 0)
    while True:
        with session_scope(factory_) as s:
            row = store.get_job(s, store_job)
        if row.status in ("done", "failed"):
            break
        jobs.update(job_id, done=row.done, total=row.total + 1, message=f"{row.status}: {row.done}/{row.total} steps")
        time.sleep(0.2)
    if row.status == "failed":
        log.warning("scoring job %s failed: %s", store_job, row.error)
        jobs.update(job_id, error=row.error, finished=True)
    else:
        jobs.update(job_id, run_ids=list(row.run_ids), message="done", done=row.total + 1, finished=True)


def user_message(err: Exception) -> str:
    """What the browser may see of a failure: the engine's and store's own errors are written for users (they
    say what to fix); anything else may carry server paths or internals, so it stays in the server log."""
    if isinstance(err, DocreError):
        return str(err)
    return "an internal error stopped it; the server log has the details"


def start_scoring(dataset_id: int, doc_ids: Sequence[int], model_paths: Sequence[str],
                  requested_by: str = "local") -> str:
    """Load the models (cached) here, record the job in the store, and run it in a thread (or follow the
    external worker that claims it first); returns the job id to poll."""
    models = {path: predictor(path) for path in model_paths}
    with session() as s:
        store_job = store.enqueue_job(s, dataset_id, doc_ids, model_paths, requested_by)
    job = Job(uuid.uuid4().hex[:12], dataset_id, total=len(doc_ids) * len(models) + 1)
    jobs = _jobs()
    with jobs.lock:
        jobs.jobs[job.id] = job
    threading.Thread(target=_worker, args=(job.id, factory(), store_job, models),
                     name=f"docre-score-{job.id}", daemon=True).start()
    return job.id


def job(job_id: str) -> Job | None:
    """A copy of the job's current state (None if this server process does not know it)."""
    return _jobs().snapshot(job_id)


def wait(job_id: str, timeout: float = 600.0) -> Job | None:
    """Block until the job finishes (tests, scripts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = job(job_id)
        if state is None or state.finished:
            return state
        time.sleep(0.05)
    return job(job_id)


def clear_caches() -> None:
    _runs.clear()
    _scored.clear()


@st.cache_data(show_spinner=False)
def _runs(key: str, dataset_id: int, jobs_state: tuple[tuple[int, str], ...]) -> list[RunInfo]:
    _ = jobs_state  # part of the cache key only
    with session() as s:
        return store.list_runs(s, dataset_id, finished_only=True)


def runs(dataset_id: int) -> list[RunInfo]:
    """A dataset's finished model runs, newest first. A scoring job's runs appear once the job is done (before,
    they hold only some documents); keyed by the jobs' states, so a job that a worker thread, a resumed job or
    an external worker finishes shows without a restart."""
    with session() as s:
        jobs_state = tuple((j.id, j.status) for j in store.list_jobs(s, dataset_id))
    return _runs(db_key(), dataset_id, jobs_state)


@st.cache_data(show_spinner=False)
def _scored(key: str, run_id: int) -> frozenset[int]:
    with session() as s:
        return frozenset(store.scored_document_ids(s, run_id))


def runs_for_document(dataset_id: int, doc_id: int) -> list[RunInfo]:
    """The runs that scored a document, newest first."""
    return [run for run in runs(dataset_id) if doc_id in _scored(db_key(), run.id)]


@st.cache_data(show_spinner=False, max_entries=128)
def _pair_scores(key: str, run_id: int, doc_id: int) -> PairScores:
    with session() as s:
        return store.load_pair_scores(s, run_id, doc_id)


def pair_scores(run_id: int, doc_id: int) -> PairScores:
    return _pair_scores(db_key(), run_id, doc_id)


def default_run_index(runs_: Sequence[RunInfo]) -> int:
    """Which run a page opens on: the newest run of the default model, else the newest run (runs_ newest first)."""
    default = default_model_path()
    if default is not None:
        for i, run in enumerate(runs_):
            if Path(run.checkpoint).resolve() == Path(default).resolve():
                return i
    return 0


def kmgre_run(runs_: Sequence[RunInfo]) -> RunInfo | None:
    """The newest KMGRE run among a document's runs (the one with key mention pairs), if any."""
    return next((r for r in runs_ if r.method.lower().startswith("kmgre")), None)


def run_label(run: RunInfo) -> str:
    """'#3 atlop.v1 · atlop': how a run is named in selects and legends."""
    name = run.checkpoint.rstrip("/").rsplit("/", 1)[-1]
    return f"#{run.id} {run.method} · {name}"
