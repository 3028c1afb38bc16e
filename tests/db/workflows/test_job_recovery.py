"""Job recovery while workers run, with real processes on SQLite and PostgreSQL: a worker killed with SIGKILL
mid-job is re-queued by another running worker within a bounded time (not at the next restart) and the job ends
done with every document scored once; a live worker's slow chunk is never taken for a dead one (its heartbeat
beats on its own thread); and the pages show a stale heartbeat as stalled."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from db import store
from db.store import models as m
from db.store.clock import utc_now
from db.store.domain import JobInfo
from db.store.session import session_scope
from tests.db_support import tiny_document
from tests.paths import ROOT

STALE = 4.0  # the rescuing worker's stale limit in these tests (seconds)


def _worker(db_url: str, log: Path, *extra: str, slow: float | None = None) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("DOCRE_AUTH", None)
    args = ["--database", db_url, "--stale-seconds", str(STALE), *extra]
    argv = ([sys.executable, "-m", "tests.job_worker_support", str(slow), "--", *args] if slow is not None
            else [sys.executable, "-m", "app.worker", *args])
    with log.open("w") as out:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait(what: str, check, timeout: float, *logs: Path):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs)
    raise AssertionError(f"{what} not within {timeout} s\n{tails}")


def _job(factory, job_id: int) -> JobInfo:
    with session_scope(factory) as s:
        return store.get_job(s, job_id)


def test_a_killed_workers_job_is_resumed_by_a_running_worker(db_url, factory, tiny_models_dir,
                                                             tmp_path) -> None:
    with session_scope(factory) as s:
        dataset = store.create_dataset(s, "recover")
        docs = list(store.add_documents(s, dataset.id, [tiny_document(f"Doc {i}") for i in range(80)]).added)
        job_id = store.enqueue_job(s, dataset.id, docs, [str(tiny_models_dir / "tiny")], "ann")
    logs = [tmp_path / "doomed.log", tmp_path / "rescuer.log"]
    doomed = _worker(db_url, logs[0], "--heartbeat-seconds", "0.5", slow=4.0)
    rescuer = None
    try:  # the doomed worker scores a chunk or more, slowly; then a second worker starts and is ready
        _wait("the first worker's first chunk", lambda: _job(factory, job_id).done >= 8, 180, logs[0])
        rescuer = _worker(db_url, logs[1], "--heartbeat-seconds", "0.5")
        _wait("the second worker ready", lambda: "ready" in logs[1].read_text(), 180, *logs)
        job = _job(factory, job_id)
        assert job.status == "running" and job.worker_id.startswith(f"{socket.gethostname()}:{doomed.pid}:")
        time.sleep(STALE + 1)  # a live worker with slow chunks keeps its job: its heartbeat beats between them
        assert _job(factory, job_id).worker_id == job.worker_id
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=30)
        killed_at, done_then = time.monotonic(), _job(factory, job_id).done
        assert done_then < 80, "the job ended before the kill: nothing to recover"
        taken = _wait("the job re-queued and claimed by the running worker",
                      lambda: _job(factory, job_id).worker_id not in (None, job.worker_id), 3 * STALE, *logs)
        assert time.monotonic() - killed_at <= 3 * STALE  # stale limit + half of it for the pass, with margin
        final = _wait("the job done", lambda: (j := _job(factory, job_id)).status == "done" and j, 180, *logs)
    finally:
        for proc in (doomed, rescuer):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
    assert taken  # noqa: SIM102 - the job passed to the second worker
    assert (final.done, final.total, final.error) == (80, 80, None)
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(m.PairScoreBlobRow)) == 80  # each document scored once


def test_the_page_shows_a_stale_heartbeat_as_stalled() -> None:
    from app.services.jobs import status_label

    now = utc_now()
    job = JobInfo(1, 1, (1,), ("m",), (), "ann", "running", 3, 9, None, "w", now, now, None,
                  now - timedelta(seconds=300))
    assert status_label(job).startswith("stalled: no heartbeat for 300 s")
    fresh = JobInfo(1, 1, (1,), ("m",), (), "ann", "running", 3, 9, None, "w", now, now, None, now)
    assert status_label(fresh) == "running"
