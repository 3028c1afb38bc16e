"""A running job's heartbeat on its own thread: progress commits only between chunks, and one chunk (or loading
a model) can take longer than the stale limit on a slow machine, so without this a live worker's job would look
dead to the other workers, which re-queue stale jobs while they run."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from engine.errors import DocreError

from .. import store
from ..store.domain import JobInfo
from ..store.queries.jobs import HEARTBEAT_SECONDS, JobLostError
from ..store.session import session_scope

log = logging.getLogger(__name__)


class JobHeartbeat:
    """`with JobHeartbeat(factory, job_id, worker_id, every):` beats every `every` seconds until the block ends;
    `lost` turns true once the job was taken from this worker (re-queued as stale or finished elsewhere)."""

    def __init__(self, factory_: sessionmaker[Session], job_id: int, worker_id: str,
                 every: float = HEARTBEAT_SECONDS) -> None:
        self.factory, self.job_id, self.worker_id, self.every = factory_, job_id, worker_id, every
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"docre-heartbeat-{job_id}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                with session_scope(self.factory) as s:
                    alive = store.beat(s, self.job_id, self.worker_id)
            except Exception:  # noqa: BLE001 - a missed beat is retried; the job's own writes report real faults
                log.warning("scoring job %s: heartbeat failed, retrying in %s s", self.job_id, self.every,
                            exc_info=True)
                continue
            if not alive:
                self.lost.set()
                return

    def __enter__(self) -> JobHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 5)


T = TypeVar("T")


def run_beating(factory_: sessionmaker[Session], job: JobInfo, worker_id: str, heartbeat_seconds: float,
                work: Callable[[], T], *, kind: str, user_error: str) -> T | None:
    """Run one claimed job's `work` under its heartbeat, the frame every job kind shares: its result, or None
    when the job was taken from this worker (logged) or failed; a failure is recorded on the job for the page,
    `user_error` followed by the message where it is one of ours (DocreError), a pointer to the log otherwise."""
    try:
        with JobHeartbeat(factory_, job.id, worker_id, heartbeat_seconds):
            return work()
    except JobLostError as err:
        log.warning("%s", err)
        return None
    except Exception as err:  # noqa: BLE001 - recorded on the job for the page, logged in full here
        log.exception("%s job %s failed", kind, job.id)
        message = (f"{user_error} {err}" if isinstance(err, DocreError)
                   else f"{kind} job {job.id} failed: an internal error stopped it; the server log has the details")
        with session_scope(factory_) as s:
            store.fail_job(s, job.id, message)
        return None
