"""Model runs for pages: a dataset's finished runs, the runs that scored a document and their pair scores (cached
by id), and how a run is named. Scoring itself is a job in the store (services.jobs, db.workflows.scoring)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from db import store
from db.store.domain import RunInfo
from engine.data.pair_scores import PairScores

from .resources import db_key, default_model_path, session


def type_stats_warning() -> str | None:
    """Why the type rule is neutral (the shipped statistics are missing or corrupt), for pages to show."""
    from engine.curate.type_stats import load_default_type_stats  # noqa: PLC0415

    return load_default_type_stats()[1]


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
    they hold only some documents); keyed by the jobs' states, so a job that the app's worker or an external
    worker finishes shows without a restart."""
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


def clear_score_caches() -> None:
    """After an entity edit: stored pair scores moved to new indices, and some pairs were rescored."""
    _pair_scores.clear()


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
