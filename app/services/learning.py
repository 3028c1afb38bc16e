"""The review queue that learns: after every N decisions on a dataset the ranker refits on them in a
background thread (db.workflows.refit.refit_dataset) and the pending queue re-orders; the dataset's settings
(N, and the stopping threshold) and the last refit for the pages to show."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from db import store
from db.store.domain import RefitInfo, ReviewSettings
from db.workflows.refit import refit_dataset

from .resources import factory, session
from .team import require_curator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefitRun:
    """A refit running now in this server process."""

    dataset_id: int
    started: float  # time.monotonic() when it started

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


class _Refits:
    """Which datasets are refitting now (one refit per dataset at a time), and the last failure of each."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[int, RefitRun] = {}
        self.errors: dict[int, str] = {}
        self.done = threading.Condition(self.lock)

    def claim(self, dataset_id: int) -> bool:
        with self.lock:
            if dataset_id in self.running:
                return False
            self.running[dataset_id] = RefitRun(dataset_id, time.monotonic())
            self.errors.pop(dataset_id, None)
            return True

    def release(self, dataset_id: int, error: str | None = None) -> None:
        with self.lock:
            self.running.pop(dataset_id, None)
            if error:
                self.errors[dataset_id] = error
            self.done.notify_all()


@st.cache_resource(show_spinner=False)
def _refits() -> _Refits:
    return _Refits()


def _work(refits: _Refits, factory_: sessionmaker[Session], dataset_id: int) -> None:
    """The thread's body: refit, re-score, log; a failure is kept for the page (details in the server log)."""
    try:
        refit_dataset(factory_, dataset_id)
    except Exception:  # a failed refit must never take the page down; the queue keeps its order
        log.exception("refit of dataset %d failed", dataset_id)
        refits.release(dataset_id, "the last re-ranking failed; the queue keeps its order (the server log has "
                                   "the details)")
    else:
        refits.release(dataset_id)


def start_refit(dataset_id: int) -> bool:
    """Refit now in a background thread, unless one is already running for the dataset; True when started."""
    refits = _refits()
    if not refits.claim(dataset_id):
        return False
    threading.Thread(target=_work, args=(refits, factory(), dataset_id), name=f"docre-refit-{dataset_id}",
                     daemon=True).start()
    return True


def after_decision(dataset_id: int) -> bool:
    """Start a refit when the dataset's decisions since the last one reached its N; True when one started.
    Decisions made while a refit runs are not lost: they count towards the next one."""
    with session() as s:
        every = store.review_settings(s, dataset_id).refit_every
        due = store.refit_due(store.decision_count(s, dataset_id), store.latest_refit(s, dataset_id), every)
    return due and start_refit(dataset_id)


def running(dataset_id: int) -> RefitRun | None:
    """The refit running now for the dataset (in this server process), if any."""
    refits = _refits()
    with refits.lock:
        return refits.running.get(dataset_id)


def last_error(dataset_id: int) -> str | None:
    refits = _refits()
    with refits.lock:
        return refits.errors.get(dataset_id)


def wait(dataset_id: int, timeout: float = 120.0) -> bool:
    """Block until the dataset's refit has finished (tests, scripts); False on timeout."""
    refits = _refits()
    with refits.lock:
        return refits.done.wait_for(lambda: dataset_id not in refits.running, timeout)


def latest_refit(dataset_id: int) -> RefitInfo | None:
    with session() as s:
        return store.latest_refit(s, dataset_id)


def refit_message(info: RefitInfo) -> str:
    """What the Review page says once the queue has been re-ranked."""
    return (f"Re-ranked from {info.decisions} of your decisions ({info.accepted} accepted) on "
            f"{info.created_at.strftime('%Y-%m-%d %H:%M')} UTC, in {info.seconds:.1f} s: the pending queue is "
            "ordered by the ranker refitted on them.")


def settings(dataset_id: int) -> ReviewSettings:
    with session() as s:
        return store.review_settings(s, dataset_id)


def save_settings(dataset_id: int, annotator: str | None, *, refit_every: int, stop_below: float,
                  min_probability: float | None = None) -> ReviewSettings:
    """Save the dataset's settings (AccountError unless the person may, ValueError on values out of range),
    then refit at once if the new N is already reached."""
    with session() as s:
        require_curator(s, annotator, "change a dataset's review settings")
        saved = store.set_review_settings(s, dataset_id, refit_every=int(refit_every), stop_below=float(stop_below),
                                          min_probability=min_probability, by=annotator)
    after_decision(dataset_id)
    return saved

