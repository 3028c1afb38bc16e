"""What a scoring job's progress says while it runs (issue 25 point 5): the steps done of all, the time since it
started, and a worker that stopped beating shown as stalled, not as running."""
from __future__ import annotations

from datetime import timedelta

import pytest

pytest.importorskip("streamlit")

from app.services import jobs
from db.store.clock import utc_now
from db.store.domain import JobInfo
from db.workflows.worker import STALE_SECONDS

NOW = utc_now()


def job(status: str, done: int, total: int, started_ago: float | None, beat_ago: float | None) -> JobInfo:
    def ago(seconds: float | None):
        return None if seconds is None else NOW - timedelta(seconds=seconds)

    return JobInfo(1, 1, (1,), ("m",), (), "ann", status, done, total, None, "w", ago(600), ago(started_ago), None,
                   ago(beat_ago))


def test_a_running_job_says_its_steps_and_elapsed_time() -> None:
    assert jobs.progress_text(job("running", 12, 30, 125, 1), NOW) == "running: 12/30 steps, 2 min 05 s elapsed"
    assert jobs.progress_text(job("running", 0, 30, 7, 1), NOW) == "running: 0/30 steps, 7 s elapsed"
    assert jobs.progress_text(job("queued", 0, 1, None, None), NOW) == "queued: 0/1 steps"


def test_a_stale_heartbeat_is_shown_as_stalled() -> None:
    stale = job("running", 3, 30, 900, 2 * STALE_SECONDS)
    assert jobs.progress_text(stale, NOW).startswith("stalled: no heartbeat for 120 s, its worker seems stopped")
    assert jobs.progress_text(stale, NOW).endswith("3/30 steps, 15 min 00 s elapsed")
    assert jobs.job_rows([stale])[0]["status"].startswith("stalled")  # the real clock: later still
    assert jobs.status_label(job("running", 3, 30, 900, 1), now=NOW) == "running"
