"""Scoring jobs on the Upload page: the jobs table reads the store, so a job and its status survive an app
restart (a new AppTest on the same SQLite file, with every Streamlit cache cleared)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import services
from app.services.worker_loop import drain
from tests.app.test_app_pages import app, env, models_dir, sample_docs, seed_ids, seeded, seeded_db  # noqa: F401


def test_jobs_table_survives_an_app_restart(seeded: Path, models_dir: Path, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("DOCRE_WORKER", "external")  # this test drains the queue itself
    app()
    dataset_id, doc_ids = seed_ids()
    job_id = services.jobs.enqueue(dataset_id, doc_ids[:1], [str(models_dir / "tiny")], "ann <b>lee</b>")
    assert drain(services.resources.factory(), "test-worker") == 1
    st.cache_data.clear()
    st.cache_resource.clear()  # the restart: nothing of the first server process is left
    at = app(**{"docre.dataset_id": dataset_id})
    table = at.dataframe[0].value
    row = table[table["job"] == job_id].iloc[0]
    assert (row["status"], row["progress"], row["done"]) == ("done", 1.0, "1/1")
    assert row["requested by"] == "ann <b>lee</b>"  # a dataframe cell: text, never HTML
    assert not at.exception
