"""The review log: decisions are inserted, never changed; undo inserts a row that cancels an earlier one.

States derived from the log are defined in db.review_state. Two annotators deciding the same suggestion at
once both insert a row (nothing is locked or overwritten), and the item shows "conflict" until a curator
decides it."""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from itertools import combinations
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from engine.data.text_rules import text_problem

from .. import models as m
from ..clock import as_utc, utc_now
from ..conflicts import REVIEW_UNDOES
from ..domain import (
    ACCEPTED,
    CONFLICT,
    CORRECTED,
    REJECT_LABEL,
    REJECTED,
    STATES,
    AnnotatorPair,
    RelationRate,
    ReviewProgress,
    ReviewRecord,
)
from ..errors import NotFoundError, ReviewConflictError, ReviewError
from ..review_state import CURATOR, VERDICTS, current_decisions, suggestion_states
from .controls import control_ids
from .labels import check_not_duplicate, lock_document

logger = logging.getLogger(__name__)

MAX_RELATION_LENGTH = 32
REVIEW_LOG_COLUMNS: tuple[str, ...] = (
    "review_id", "time_utc", "annotator", "role", "decision", "relation", "suggested_relation", "corrected", "note",
    "undoes_review_id", "undone", "suggestion_id", "document_id", "document_title", "head", "tail", "score")


def _annotator(session: Session, name: str) -> m.AnnotatorRow:
    row = session.scalar(select(m.AnnotatorRow).where(m.AnnotatorRow.name == name))
    if row is None:
        raise NotFoundError(f"no annotator named {name!r}; create one with `python -m db create-user {name} "
                            "--role annotator` (team mode) or ensure_annotator() (local mode)")
    return row


def record_review(session: Session, suggestion_id: int, annotator: str, decision: str, *,
                  relation: str | None = None, note: str | None = None) -> int:
    """Insert one decision (accept, reject or skip) and return its id; `relation` corrects the suggested
    relation and goes with accept only."""
    if decision not in m.DECISIONS:
        raise ReviewError(f"decision: expected one of {', '.join(m.DECISIONS)}, got {decision!r} "
                          "(use undo_last_review to take a decision back)")
    suggestion = session.get(m.SuggestionRow, suggestion_id)
    if suggestion is None:
        raise NotFoundError(f"no suggestion with id {suggestion_id}")
    if relation is not None:
        relation = relation.strip()
        if decision != "accept":
            raise ReviewError(f"a corrected relation goes with accept, not {decision!r}; drop relation={relation!r}")
        if not relation or len(relation) > MAX_RELATION_LENGTH:
            raise ReviewError(f"relation: expected a relation id like 'P17', got {relation!r}")
        if relation == suggestion.relation:
            relation = None  # accepting as suggested is not a correction
    problem = text_problem(note or "", "note")
    if problem is not None:
        raise ReviewError(f"note on suggestion {suggestion_id}: {problem}")
    if decision == "accept":  # the pair's labels are read under its document's lock: two accepts of one label
        lock_document(session, suggestion.document_id)  # at once record one, and the other is refused
        check_not_duplicate(session, suggestion, relation or suggestion.relation)
    reviewer = _annotator(session, annotator)
    row = m.ReviewRow(suggestion_id=suggestion_id, annotator_id=reviewer.id, role=reviewer.role, decision=decision,
                   relation=relation, note=(note or "").strip() or None, created_at=utc_now())
    session.add(row)
    session.flush()
    logger.info("review %d: %s %s suggestion %d", row.id, annotator, decision, suggestion_id)
    return row.id


def _undone_ids() -> Any:
    return select(m.ReviewRow.undoes_id).where(m.ReviewRow.undoes_id.is_not(None))


def undo_last_review(session: Session, annotator: str, suggestion_id: int | None = None, *,
                     dataset_id: int | None = None, expected_id: int | None = None) -> ReviewRecord:
    """Cancel the annotator's latest decision still in force (on one suggestion, in one dataset, or anywhere)
    by inserting an "undo" row; their previous decision, if any, counts again. Returns the cancelled review.
    The Review page passes its dataset: an undo there must never reach into another dataset.

    `expected_id`: the decision the page showed as the latest when the button was pressed. An undo undoes at most
    that decision, once: of several undos pressed at once (tabs, double clicks) exactly one undoes it and the
    others get a ReviewConflictError, on SQLite and PostgreSQL alike, however their reads and writes interleave
    (before, SQLite's serialised writers let later ones undo older decisions: 3 of 4 against PostgreSQL's 1)."""
    reviewer = _annotator(session, annotator)
    query = (select(m.ReviewRow).where(m.ReviewRow.annotator_id == reviewer.id, m.ReviewRow.decision != m.UNDO,
                                    m.ReviewRow.id.not_in(_undone_ids()))
             .order_by(m.ReviewRow.id.desc()).limit(1))
    if suggestion_id is not None:
        query = query.where(m.ReviewRow.suggestion_id == suggestion_id)
    if dataset_id is not None:
        in_dataset = select(m.SuggestionRow.id).join(m.DocumentRow).where(m.DocumentRow.dataset_id == dataset_id)
        query = query.where(m.ReviewRow.suggestion_id.in_(in_dataset))
    target = session.scalar(query)
    if expected_id is not None and (target is None or target.id != expected_id):
        raise _undone_elsewhere(annotator, expected_id)
    if target is None:
        where = f" on suggestion {suggestion_id}" if suggestion_id is not None else ""
        where += " in this dataset" if dataset_id is not None else ""
        raise ReviewError(f"{annotator} has no decision{where} left to undo")
    cancelled = _record(target, annotator, undone=True)  # read now: a failed flush expires the row
    session.add(m.ReviewRow(suggestion_id=target.suggestion_id, annotator_id=reviewer.id, role=reviewer.role,
                         decision=m.UNDO, undoes_id=target.id, created_at=utc_now()))
    try:
        session.flush()
    except IntegrityError as err:  # the same undo, from another tab, got there first
        if not REVIEW_UNDOES.matches(err):
            raise
        logger.info("%s: undo of review %d lost a race with another undo of it", annotator, cancelled.id)
        raise _undone_elsewhere(annotator, cancelled.id, cancelled.suggestion_id) from None
    logger.info("%s undid review %d", annotator, cancelled.id)
    return cancelled


def _undone_elsewhere(annotator: str, review_id: int, suggestion_id: int | None = None) -> ReviewConflictError:
    on = f"on suggestion {suggestion_id}" if suggestion_id is not None else f"review {review_id}"
    logger.info("%s: undo of review %d refused: undone already", annotator, review_id)
    return ReviewConflictError(f"your latest decision ({on}) was undone, or another decision made, a moment ago in "
                               "another tab or window; nothing more was undone. Check your recent decisions and "
                               "press undo again to undo the latest one.")


def _record(row: m.ReviewRow, annotator: str, *, undone: bool) -> ReviewRecord:
    return ReviewRecord(row.id, row.suggestion_id, annotator, row.role, row.decision, row.relation, row.note,
                        as_utc(row.created_at), row.undoes_id, undone)


def review_history(session: Session, annotator: str | None = None, *, dataset_id: int | None = None,
                   suggestion_id: int | None = None, limit: int = 50) -> list[ReviewRecord]:
    """The log, newest first: undo rows included, cancelled decisions marked `undone`; `suggestion_id`: one
    item's whole trail (every decision, undo and curator resolution)."""
    undo = aliased(m.ReviewRow)
    undone = exists().where(undo.undoes_id == m.ReviewRow.id)
    query = (select(m.ReviewRow, m.AnnotatorRow.name, undone).join(m.AnnotatorRow)
             .order_by(m.ReviewRow.id.desc()).limit(limit))
    if annotator is not None:
        query = query.where(m.AnnotatorRow.name == annotator)
    if dataset_id is not None:
        query = query.join(m.SuggestionRow).join(m.DocumentRow).where(m.DocumentRow.dataset_id == dataset_id)
    if suggestion_id is not None:
        query = query.where(m.ReviewRow.suggestion_id == suggestion_id)
    return [_record(row, name, undone=bool(flag)) for row, name, flag in session.execute(query)]


def _dataset_states(dataset_id: int, *, include_controls: bool = True) -> Any:
    states = suggestion_states()
    corrected = and_(states.c.state == ACCEPTED, states.c.accepted_relation != m.SuggestionRow.relation)
    query = (select(m.SuggestionRow.relation, case((corrected, literal(CORRECTED)), else_=states.c.state)
                    .label("state"))
             .join(states, states.c.suggestion_id == m.SuggestionRow.id)
             .join(m.DocumentRow).where(m.DocumentRow.dataset_id == dataset_id))
    return query if include_controls else query.where(m.SuggestionRow.id.not_in(control_ids()))


def review_progress(session: Session, dataset_id: int) -> ReviewProgress:
    """How many of a dataset's suggestions are in each state (control items too: the queue holds them, and
    counting them apart would tell annotators which items they are)."""
    rows = _dataset_states(dataset_id).subquery()
    counts: Counter[str] = Counter()
    for state, n in session.execute(select(rows.c.state, func.count()).group_by(rows.c.state)):
        counts[ACCEPTED if state == CORRECTED else state] += n  # progress counts a correction as decided
    return ReviewProgress(sum(counts.values()), {state: counts.get(state, 0) for state in STATES})


def relation_acceptance(session: Session, dataset_id: int, *, include_controls: bool = False) -> list[RelationRate]:
    """Per suggested relation: accepted as suggested, corrected (accepted with another relation), rejected, in
    conflict, and all; most suggested first. The yield of
    real suggestions: control items only with include_controls (the Review page's relation choices)."""
    rows = _dataset_states(dataset_id, include_controls=include_controls).subquery()
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for relation, state, n in session.execute(
            select(rows.c.relation, rows.c.state, func.count()).group_by(rows.c.relation, rows.c.state)):
        tally[relation][state] += n
    rates = [RelationRate(r, c[ACCEPTED], c[REJECTED], c[CONFLICT], sum(c.values()), c[CORRECTED])
             for r, c in tally.items()]
    return sorted(rates, key=lambda rate: (-rate.total, rate.relation))


def annotator_pairs(session: Session, dataset_id: int) -> list[AnnotatorPair]:
    """For every two annotators, their current labels on the suggestions both accepted or rejected: the
    accepted relation, or "reject". Skips are no judgement and are left out, and so are control items (their
    truth is known: db.store.queries.controls scores them) and decisions made as a curator (a curator's verdict
    is the resolution the state follows, not one more annotator's opinion: counted, it would pair every
    annotator with the one who settles their conflicts). Feed to agreement.cohen_kappa."""
    cur = current_decisions()
    rows = session.execute(
        select(cur.c.suggestion_id, m.AnnotatorRow.name, cur.c.decision, cur.c.relation)
        .join(m.AnnotatorRow, m.AnnotatorRow.id == cur.c.annotator_id)
        .join(m.SuggestionRow, m.SuggestionRow.id == cur.c.suggestion_id).join(m.DocumentRow)
        .where(m.DocumentRow.dataset_id == dataset_id, cur.c.decision.in_(VERDICTS), cur.c.role != CURATOR,
               cur.c.suggestion_id.not_in(control_ids())))
    labels: dict[str, dict[int, str]] = defaultdict(dict)
    for suggestion_id, name, decision, relation in rows:
        labels[name][suggestion_id] = REJECT_LABEL if decision == "reject" else relation
    pairs = []
    for a, b in combinations(sorted(labels), 2):
        shared = sorted(labels[a].keys() & labels[b].keys())
        if shared:
            pairs.append(AnnotatorPair(a, b, tuple(shared), tuple(labels[a][s] for s in shared),
                                       tuple(labels[b][s] for s in shared)))
    return pairs


def review_log_rows(session: Session, dataset_id: int) -> list[dict[str, Any]]:
    """The dataset's whole review log, oldest first, one flat dict per row (keys: REVIEW_LOG_COLUMNS) for CSV.
    Decisions on control items are left out, so the Export page's files are the same with or without them."""
    undo = aliased(m.ReviewRow)
    query = (select(m.ReviewRow, m.AnnotatorRow.name, m.SuggestionRow, m.DocumentRow.title,
                    exists().where(undo.undoes_id == m.ReviewRow.id))
             .join(m.AnnotatorRow, m.AnnotatorRow.id == m.ReviewRow.annotator_id)
             .join(m.SuggestionRow, m.SuggestionRow.id == m.ReviewRow.suggestion_id)
             .join(m.DocumentRow, m.DocumentRow.id == m.SuggestionRow.document_id)
             .where(m.DocumentRow.dataset_id == dataset_id, m.SuggestionRow.id.not_in(control_ids()))
             .order_by(m.ReviewRow.id))
    out = []
    for review, name, suggestion, title, undone in session.execute(query):
        accepted = review.decision == "accept"
        out.append({
            "review_id": review.id, "time_utc": as_utc(review.created_at).isoformat(), "annotator": name,
            "role": review.role, "decision": review.decision,
            "relation": (review.relation or suggestion.relation) if accepted else None,
            "suggested_relation": suggestion.relation, "corrected": review.relation is not None,
            "note": review.note, "undoes_review_id": review.undoes_id, "undone": bool(undone),
            "suggestion_id": suggestion.id, "document_id": suggestion.document_id, "document_title": title,
            "head": suggestion.h, "tail": suggestion.t, "score": suggestion.score,
        })
    return out
