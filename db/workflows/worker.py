"""The job worker's loop (scoring and fine-tuning jobs, one queue), shared by the app's background thread and `python -m
app.worker`: claim and run queued jobs while a second thread re-queues, every half stale limit, the jobs a dead
worker left running (so a job killed mid-way is resumed within about 1.5x the stale limit by any live worker, not at
the next restart). No Streamlit here, so a team's worker process needs none."""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from .. import store
from ..store.domain import JobInfo
from ..store.queries.jobs import HEARTBEAT_SECONDS, STALE_SECONDS
from ..store.session import init_db, make_engine, session_factory, session_scope
from .scoring import LoadModel, run_job

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0


def open_factory(url: str | None = None) -> sessionmaker[Session]:
    """Sessions on the database at `url` (default: the app's), its schema brought to the newest migration."""
    engine = make_engine(url)
    init_db(engine)
    return session_factory(engine)


def worker_id() -> str:
    """host:pid:random, so a job's row names the process that ran it."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@lru_cache(maxsize=4)
def load_model(path: str) -> Any:
    from engine.serve.predictor import Predictor  # noqa: PLC0415 - torch only when a job runs

    return Predictor.from_checkpoint(path)


def recover(factory_: sessionmaker[Session], stale_seconds: float = STALE_SECONDS) -> None:
    with session_scope(factory_) as s:
        for job in store.recover_stale_jobs(s, stale_seconds):
            log.warning("scoring job %s left by a stopped worker: %s", job.id, job.error or "re-queued to resume")


def run_claimed(factory_: sessionmaker[Session], job: JobInfo, me: str, load: LoadModel = load_model,
                heartbeat_seconds: float = HEARTBEAT_SECONDS) -> None:
    """Run a claimed job by its kind: scoring (db.workflows.scoring) or fine-tuning (db.workflows.finetune)."""
    if job.kind == "finetune":
        from .finetune import run_finetune_job  # noqa: PLC0415 - the training stack only when a job needs it

        run_finetune_job(factory_, job, me, heartbeat_seconds=heartbeat_seconds)
    else:
        run_job(factory_, job, me, load, heartbeat_seconds=heartbeat_seconds)


def drain(factory_: sessionmaker[Session], me: str, stop: threading.Event | None = None,
          load: LoadModel = load_model, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> int:
    """Run queued jobs until none is left (or `stop` is set); returns how many ran. `load`: checkpoint path ->
    Predictor (the app passes its cached loader, so its pages and its worker share one copy of each model)."""
    ran = 0
    while stop is None or not stop.is_set():
        with session_scope(factory_) as s:
            job = store.claim_next_job(s, me)
        if job is None:
            return ran
        log.info("worker %s runs %s job %s", me, job.kind, job.id)
        run_claimed(factory_, job, me, load, heartbeat_seconds)
        ran += 1
    return ran


def _keep_recovering(factory_: sessionmaker[Session], stop: threading.Event, stale_seconds: float) -> None:
    """Re-queue stale jobs every half stale limit until `stop` is set; a failed pass is logged and retried."""
    while not stop.wait(stale_seconds / 2):
        try:
            recover(factory_, stale_seconds)
        except Exception:  # noqa: BLE001 - e.g. the database briefly away: the next pass tries again
            log.warning("re-queueing stale scoring jobs failed; retrying in %s s", stale_seconds / 2, exc_info=True)


def serve(factory_: sessionmaker[Session], stop: threading.Event, stale_seconds: float = STALE_SECONDS,
          heartbeat_seconds: float = HEARTBEAT_SECONDS, load: LoadModel = load_model) -> None:
    """Recover now and then every half stale limit (on a thread of its own, so a worker busy with a long job
    still rescues a dead worker's), and keep draining the queue until `stop` is set."""
    if heartbeat_seconds >= stale_seconds:
        raise ValueError(f"the heartbeat ({heartbeat_seconds} s) must be shorter than the stale limit "
                         f"({stale_seconds} s), or live jobs would be re-queued as dead")
    me = worker_id()
    recover(factory_, stale_seconds)
    threading.Thread(target=_keep_recovering, args=(factory_, stop, stale_seconds), name="docre-job-recovery",
                     daemon=True).start()
    log.info("worker %s ready: re-queues jobs whose heartbeat is over %s s old", me, stale_seconds)
    while not stop.is_set():
        drain(factory_, me, stop, load, heartbeat_seconds)
        stop.wait(POLL_SECONDS)
