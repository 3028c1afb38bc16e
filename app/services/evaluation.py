"""Evaluation of every run on the dataset's labelled documents, annotator agreement and acceptance rates."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from db import store
from engine.data.metrics import EvaluationReport, evaluate

from .documents import document, documents
from .resources import db_key, session
from .scoring import pair_scores, run_label, runs, runs_for_document


@st.cache_data(show_spinner=False, max_entries=64)
def _report(key: str, run_id: int, doc_ids: tuple[int, ...], reviewed: bool) -> EvaluationReport:
    if reviewed:
        with session() as s:
            gold = store.reviewed_documents(s, list(doc_ids))
    else:
        gold = [document(i) for i in doc_ids]
    predicted = [[(h, t, r) for h, t, r, _ in pair_scores(run_id, i).predicted_triples()] for i in doc_ids]
    return evaluate(gold, predicted)


def evaluations(dataset_id: int, *, reviewed_gold: bool = False) -> dict[str, EvaluationReport]:
    """Per run, its report on the labelled documents it scored (gold as uploaded, or with review applied)."""
    labelled = [d.id for d in documents(dataset_id) if d.has_labels]
    out: dict[str, EvaluationReport] = {}
    for run in runs(dataset_id):
        scored = tuple(i for i in labelled if any(r.id == run.id for r in runs_for_document(dataset_id, i)))
        if scored:
            out[run_label(run)] = _report(db_key(), run.id, scored, reviewed_gold)
    return out


def labelled_count(dataset_id: int) -> int:
    return sum(d.has_labels for d in documents(dataset_id))


@dataclass(frozen=True)
class Agreement:
    """Cohen's kappa of two annotators over the suggestions both accepted or rejected."""

    annotator_a: str
    annotator_b: str
    items: int
    observed: float
    kappa: float


MIN_KAPPA_ITEMS = 10  # below this many shared items, kappa is shown with a warning


def agreement(dataset_id: int) -> list[Agreement]:
    with session() as s:
        pairs = store.annotator_pairs(s, dataset_id)
    out = []
    for p in pairs:
        observed = sum(a == b for a, b in zip(p.labels_a, p.labels_b)) / len(p.labels_a)
        out.append(Agreement(p.annotator_a, p.annotator_b, len(p.suggestion_ids), observed,
                             store.cohen_kappa(p.labels_a, p.labels_b)))
    return out
