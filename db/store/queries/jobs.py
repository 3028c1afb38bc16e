"""Jobs in the store (scoring, and fine-tuning from reviewed labels: one mechanism, told apart by `kind`):
enqueue, claim (atomic, so two workers never run one job), progress with a heartbeat, finish or fail, and
re-queue what a dead worker left running."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import models as m
from ..clock import as_utc, utc_now
from ..domain import JobInfo
from ..errors import NotFoundError

STALE_SECONDS = 60.0  # a running job whose heartbeat is older than this belongs to a dead worker
HEARTBEAT_SECONDS = 10.0  # a running worker beats this often, between chunks too (db.workflows.job_heartbeat)


class JobLostError(RuntimeError):
    """A worker's job was taken from it (re-queued as stale): it must stop without storing more."""


def _opt(value):  # a timestamp or None
    return None if value is None else as_utc(value)


def _to_job(row: m.ScoringJobRow) -> JobInfo:
    return JobInfo(row.id, row.dataset_id, tuple(row.document_ids), tuple(row.checkpoints), tuple(row.run_ids),
                   row.requested_by, row.status, row.done, row.total, row.error, row.worker_id,
                   as_utc(row.created_at), _opt(row.started_at), _opt(row.finished_at), _opt(row.heartbeat_at),
                   row.suggestions, row.kind or "score", dict(row.details) if row.details is not None else None)


def enqueue_job(session: Session, dataset_id: int, doc_ids: Sequence[int], checkpoints: Sequence[str],
                requested_by: str) -> int:
    """Record a request to score these documents with these checkpoints; returns the job id."""
    if session.get(m.DatasetRow, dataset_id) is None:
        raise NotFoundError(f"no dataset with id {dataset_id}; a scoring job needs an existing dataset")
    if not doc_ids or not checkpoints:
        raise ValueError(f"a scoring job needs documents and models, got {len(doc_ids)} document(s) and "
                         f"{len(checkpoints)} model(s)")
    row = m.ScoringJobRow(dataset_id=dataset_id, document_ids=[int(i) for i in doc_ids],
                       checkpoints=[str(c) for c in checkpoints], run_ids=[], requested_by=requested_by,
                       status="queued", done=0, total=len(doc_ids) * len(checkpoints), created_at=utc_now())
    session.add(row)
    session.flush()
    return row.id


def enqueue_finetune_job(session: Session, dataset_id: int, doc_ids: Sequence[int], checkpoint: str,
                         requested_by: str, total_steps: int, details: Mapping[str, Any]) -> int:
    """Record a request to fine-tune `checkpoint` on these documents' reviewed labels (db.workflows.finetune
    plans it); `total_steps` optimiser steps in all. Returns the job id."""
    if session.get(m.DatasetRow, dataset_id) is None:
        raise NotFoundError(f"no dataset with id {dataset_id}; a fine-tuning job needs an existing dataset")
    if not doc_ids or total_steps < 1:
        raise ValueError(f"a fine-tuning job needs documents and steps, got {len(doc_ids)} document(s) and "
                         f"{total_steps} step(s)")
    row = m.ScoringJobRow(dataset_id=dataset_id, document_ids=[int(i) for i in doc_ids], checkpoints=[str(checkpoint)],
                          run_ids=[], requested_by=requested_by, status="queued", done=0, total=int(total_steps),
                          created_at=utc_now(), kind="finetune", details=dict(details))
    session.add(row)
    session.flush()
    return row.id


def claim_next_job(session: Session, worker_id: str) -> JobInfo | None:
    """Take the oldest queued job for this worker, or None (another worker may win a race: try the next)."""
    while True:
        job_id = session.scalar(select(m.ScoringJobRow.id).where(m.ScoringJobRow.status == "queued")
                                .order_by(m.ScoringJobRow.id).limit(1))
        if job_id is None:
            return None
        job = claim_job(session, job_id, worker_id)
        if job is not None:
            return job


def claim_job(session: Session, job_id: int, worker_id: str) -> JobInfo | None:
    """Take this job if it is still queued, else None. The conditional UPDATE (status still 'queued') is the
    lock: of two workers racing for a job, one updates a row and the other none, on any backend."""
    now = utc_now()
    claimed = session.execute(
        update(m.ScoringJobRow).where(m.ScoringJobRow.id == job_id, m.ScoringJobRow.status == "queued")
        .values(status="running", worker_id=worker_id, started_at=now, heartbeat_at=now)
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        session.rollback()
        return None
    session.commit()  # publish the claim now: the other worker's UPDATE then matches no row
    return get_job(session, job_id)


def _running(session: Session, job_id: int, worker_id: str) -> m.ScoringJobRow:
    row = session.get(m.ScoringJobRow, job_id, populate_existing=True)
    if row is None:
        raise NotFoundError(f"no scoring job with id {job_id}")
    if row.status != "running" or row.worker_id != worker_id:
        raise JobLostError(f"scoring job {job_id} is no longer this worker's ({worker_id}): status {row.status}, "
                           f"worker {row.worker_id}; it was re-queued or finished elsewhere")
    return row


def report_progress(session: Session, job_id: int, worker_id: str, *, done: int | None = None,
                    total: int | None = None, run_ids: Sequence[int] | None = None,
                    details: Mapping[str, Any] | None = None) -> None:
    """Advance the job (in the caller's transaction, with the scores it counts) and beat its heart. `total`:
    the worker's count of steps once it has the documents (long ones are several steps each); `details` are
    merged into the job's (a fine-tune's epoch in progress)."""
    row = _running(session, job_id, worker_id)
    if done is not None:
        row.done = done
    if total is not None:
        row.total = total
    if run_ids is not None:
        row.run_ids = [int(i) for i in run_ids]
    if details is not None:
        row.details = {**(row.details or {}), **details}  # a new object: the JSON column sees the change
    row.heartbeat_at = utc_now()
    session.flush()


def beat(session: Session, job_id: int, worker_id: str) -> bool:
    """Refresh a running job's heartbeat if it is still this worker's; False once it was taken from it. A
    conditional UPDATE, so a beat never revives a job another worker re-queued or finished."""
    beaten = session.execute(
        update(m.ScoringJobRow).where(m.ScoringJobRow.id == job_id, m.ScoringJobRow.worker_id == worker_id,
                                      m.ScoringJobRow.status == "running")
        .values(heartbeat_at=utc_now()).execution_options(synchronize_session=False))
    return beaten.rowcount == 1


def heartbeat_age(job: JobInfo, now: datetime | None = None) -> float | None:
    """Seconds since a running job's worker last beat (None when it is not running or never beat)."""
    if job.status != "running" or job.heartbeat_at is None:
        return None
    return ((now or utc_now()) - job.heartbeat_at).total_seconds()


def finish_job(session: Session, job_id: int, worker_id: str, suggestions: int = 0,
               details: Mapping[str, Any] | None = None) -> None:
    """Mark the job done with the number of suggestions it stored (the Upload page reports it); `details` are
    merged into the job's (a fine-tune's new model and lineage)."""
    row = _running(session, job_id, worker_id)
    row.status, row.done, row.finished_at, row.heartbeat_at = "done", row.total, utc_now(), utc_now()
    row.suggestions = suggestions
    if details is not None:
        row.details = {**(row.details or {}), **details}
    session.flush()


def fail_job(session: Session, job_id: int, error: str) -> None:
    """Mark a job failed with a message for users (say what went wrong and what to do)."""
    row = session.get(m.ScoringJobRow, job_id, populate_existing=True)
    if row is None:
        raise NotFoundError(f"no scoring job with id {job_id}")
    row.status, row.error, row.finished_at = "failed", error, utc_now()
    session.flush()


def get_job(session: Session, job_id: int) -> JobInfo:
    row = session.get(m.ScoringJobRow, job_id, populate_existing=True)
    if row is None:
        raise NotFoundError(f"no scoring job with id {job_id}; list_jobs() shows the ones there are")
    return _to_job(row)


def list_jobs(session: Session, dataset_id: int | None = None) -> list[JobInfo]:
    """Jobs, newest first, optionally of one dataset."""
    query = select(m.ScoringJobRow).order_by(m.ScoringJobRow.id.desc())
    if dataset_id is not None:
        query = query.where(m.ScoringJobRow.dataset_id == dataset_id)
    return [_to_job(row) for row in session.scalars(query)]


def unfinished_run_ids(session: Session, dataset_id: int | None = None) -> set[int]:
    """Runs that a job not yet done is filling (queued to resume, running or failed) and that hold none but that
    job's documents: pages must not show them as a model's finished run. A model's run that earlier scoring
    filled and this job adds to (one run per model and dataset) stays shown with what it held."""
    query = select(m.ScoringJobRow.run_ids, m.ScoringJobRow.document_ids).where(m.ScoringJobRow.status != "done")
    if dataset_id is not None:
        query = query.where(m.ScoringJobRow.dataset_id == dataset_id)
    hidden: set[int] = set()
    for run_ids, document_ids in session.execute(query):
        mine = {int(d) for d in document_ids or ()}
        for run_id in run_ids or ():
            held = session.scalars(select(m.PairScoreBlobRow.document_id)
                                   .where(m.PairScoreBlobRow.run_id == int(run_id)))
            if set(held) <= mine:
                hidden.add(int(run_id))
    return hidden


def recover_stale_jobs(session: Session, stale_seconds: float = STALE_SECONDS) -> list[JobInfo]:
    """Re-queue running jobs whose worker stopped beating (they resume, skipping documents already scored);
    a job whose runs were deleted cannot resume and fails with a message naming it and why."""
    cutoff = utc_now() - timedelta(seconds=stale_seconds)
    rows = session.scalars(select(m.ScoringJobRow).where(m.ScoringJobRow.status == "running")).all()
    recovered = []
    for row in rows:
        if row.heartbeat_at is not None and as_utc(row.heartbeat_at) >= cutoff:
            continue
        missing = [r for r in row.run_ids if session.get(m.ModelRunRow, r) is None]
        if missing:
            row.status, row.finished_at = "failed", utc_now()
            row.error = (f"scoring job {row.id} cannot resume: its worker {row.worker_id} stopped and model "
                         f"run(s) {missing} it was filling were deleted; start the scoring again")
        else:
            row.status, row.worker_id = "queued", None
        recovered.append(row)
    session.flush()
    return [_to_job(row) for row in recovered]
