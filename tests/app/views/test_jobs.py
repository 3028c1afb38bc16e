"""Scoring jobs on the Upload page: the jobs table reads the store, so a job and its status survive an app
restart (a new AppTest on the same SQLite file, with every Streamlit cache cleared). A job a stopped server
left running is re-queued at start-up and resumed; until it is done its runs show nowhere as finished."""
from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import delete, update

from app import services
from app.state import Keys
from db import store
from db.store import models as m
from db.store.clock import utc_now
from db.store.queries.jobs import STALE_SECONDS
from db.store.session import session_scope
from db.workflows import scoring as job_runner
from db.workflows.scoring import run_job
from db.workflows.worker import drain
from tests.app.page_support import app, seed_ids, texts
from tests.db_support import DiesAfter, Killed


def _restart() -> None:
    """Nothing of the first server process is left: caches, session factory, worker threads' handles."""
    st.cache_data.clear()
    st.cache_resource.clear()


def _job_row(dataset_id: int, job_id: int) -> dict:
    table = app(**{"docre.dataset_id": dataset_id}).dataframe[0].value
    return table[table["job"] == job_id].iloc[0].to_dict()


def test_jobs_table_survives_an_app_restart(seeded: Path, models_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("DOCRE_WORKER", "external")  # this test drains the queue itself
    app()
    dataset_id, doc_ids = seed_ids()
    job_id = services.jobs.enqueue(dataset_id, doc_ids[:1], [str(models_dir / "tiny")], "ann <b>lee</b>")
    assert drain(services.resources.factory(), "test-worker") == 1
    _restart()
    at = app(**{"docre.dataset_id": dataset_id})
    table = at.dataframe[0].value
    row = table[table["job"] == job_id].iloc[0]
    assert (row["status"], row["progress"], row["done"]) == ("done", 1.0, "1/1")
    assert row["requested by"] == "ann <b>lee</b>"  # a dataframe cell: text, never HTML
    assert not at.exception


def _job_killed_mid_way(dataset_id: int, doc_ids: list[int], model: str) -> tuple[int, int]:
    """A job the old server's worker was running when it died: one of two documents stored, the heartbeat
    older than a live worker's. Returns (job id, its partly filled run)."""
    factory = services.resources.factory()
    job_id = services.jobs.enqueue(dataset_id, doc_ids, [model], "ann")
    with session_scope(factory) as s:
        job = store.claim_job(s, job_id, "old-server")
    with pytest.raises(Killed), pytest.MonkeyPatch.context() as patch:
        patch.setattr(job_runner, "CHUNK_DOCS", 1)  # one predict call per document, so it dies after one
        run_job(factory, job, "old-server", lambda p: DiesAfter(services.resources.predictor(p), [1]))
    with session_scope(factory) as s:
        s.execute(update(m.ScoringJobRow).where(m.ScoringJobRow.id == job_id)
                  .values(heartbeat_at=utc_now() - timedelta(seconds=2 * STALE_SECONDS)))
        job = store.get_job(s, job_id)
    assert (job.status, job.done, job.total) == ("running", 1, 2)
    return job_id, job.run_ids[0]


def _offers_run(at, run_id: int) -> bool:
    return any(o.startswith(f"#{run_id} ") for o in at.selectbox(key=Keys.RUN).options)


def test_a_job_running_at_a_restart_is_requeued_shown_and_its_run_hidden_until_done(
        seeded: Path, models_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("DOCRE_WORKER", "external")  # the test plays the worker that resumes the job
    app()
    dataset_id, doc_ids = seed_ids()
    with session_scope(services.resources.factory()) as s:  # a model new to the dataset: the job makes its run
        s.execute(delete(m.ModelRunRow).where(m.ModelRunRow.checkpoint == str(models_dir / "tiny")))
    job_id, partial = _job_killed_mid_way(dataset_id, doc_ids[:2], str(models_dir / "tiny"))
    _restart()
    row = _job_row(dataset_id, job_id)  # start-up re-queued it
    assert (row["status"], row["done"], row["error"]) == ("queued to resume", "1/2", "")
    scored = app("document", **{"docre.dataset_id": dataset_id, "docre.document_id": doc_ids[0]})
    assert f"Scoring job {job_id} for this document is queued to resume (1/2 steps" in texts(scored)
    assert not _offers_run(scored, partial)  # its one stored document is not shown as the run's result
    review = app("review", **{"docre.annotator": "ann", "docre.dataset_id": dataset_id})
    run_filter = next(s for s in review.selectbox if s.label == "Run")  # a run, not a model: one model has many
    assert not any(o.startswith(f"#{partial} ") for o in run_filter.options)

    assert drain(services.resources.factory(), "new-server") == 1  # resumed: the second document only
    row = _job_row(dataset_id, job_id)
    assert (row["status"], row["done"]) == ("done", "2/2")
    done = app("document", **{"docre.dataset_id": dataset_id, "docre.document_id": doc_ids[0]})
    assert _offers_run(done, partial) and "Scoring job" not in texts(done)


def test_start_up_resumes_a_stopped_job_in_the_apps_worker(seeded: Path, models_dir: Path,
                                                           monkeypatch) -> None:
    monkeypatch.setenv("DOCRE_WORKER", "external")  # no worker while the old server's job dies
    app()
    dataset_id, doc_ids = seed_ids()
    job_id, _ = _job_killed_mid_way(dataset_id, doc_ids[:2], str(models_dir / "tiny"))
    monkeypatch.delenv("DOCRE_WORKER")  # the new server runs the app's own worker thread
    _restart()
    app(**{"docre.dataset_id": dataset_id})
    try:
        deadline = time.monotonic() + 120
        while (job := services.jobs.jobs(dataset_id)[0]).status != "done" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (job.id, job.status, job.done, job.error) == (job_id, "done", 2, None)
    finally:
        services.jobs._worker(services.resources.db_key()).set()  # stop it before the file goes
