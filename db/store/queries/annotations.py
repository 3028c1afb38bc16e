"""Annotation where the model is wrong: a triple added by hand on any pair, a suggestion's head or tail changed,
a gold label flagged wrong (removed once a curator confirms).

Each is a suggestion row marked in `manual_triples` plus insert-only reviews (who, when), so the review state,
export, adjudication, agreement and the ranker's feedback read them like any suggestion: a free triple is an
accepted positive; a moved one rejects the original triple and accepts the new one; a flag is a reject of the
gold triple that the export and the ranker count only once a curator's verdict decides it."""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import models as m
from ..clock import utc_now
from ..domain import REJECTED, SuggestionView
from ..errors import NotFoundError, ReviewError
from ..review_state import CURATOR, suggestion_states
from .controls import control_kind
from .reviews import MAX_RELATION_LENGTH, record_review
from .suggestions import get_suggestion

logger = logging.getLogger(__name__)

FREE, MOVED, FLAG = m.MANUAL_KINDS


@dataclass(frozen=True)
class ManualDecision:
    """What one hand-made annotation stored: the suggestion it decided and the review (who, when) deciding it;
    `replaced`: for a head or tail change, the original suggestion and the reject review it got."""

    suggestion_id: int
    review_id: int
    replaced: tuple[int, int] | None = None


def _relation(relation: str) -> str:
    relation = (relation or "").strip()
    if not relation or len(relation) > MAX_RELATION_LENGTH:
        raise ReviewError(f"relation: expected a relation id like 'P17', got {relation!r}")
    return relation


def _check_pair(session: Session, document_id: int, h: int, t: int) -> None:
    if session.get(m.DocumentRow, document_id) is None:
        raise NotFoundError(f"no document with id {document_id}")
    n = session.scalar(select(func.count(m.EntityRow.id)).where(m.EntityRow.document_id == document_id)) or 0
    if not (0 <= h < n and 0 <= t < n) or h == t:
        raise ReviewError(f"document {document_id}: head {h} and tail {t} must be two different entities "
                          f"(0..{n - 1})")


def _check_evidence(session: Session, document_id: int, evidence: Iterable[int]) -> list[int]:
    sents = session.scalar(select(m.DocumentRow.sents).where(m.DocumentRow.id == document_id)) or []
    out = sorted({int(i) for i in evidence})
    bad = [i for i in out if not 0 <= i < len(sents)]
    if bad:
        raise ReviewError(f"document {document_id}: evidence sentence {bad[0]} does not exist "
                          f"(the document has sentences 0..{len(sents) - 1})")
    return out


def _annotator_id(session: Session, name: str) -> int:
    found = session.scalar(select(m.AnnotatorRow.id).where(m.AnnotatorRow.name == name))
    if found is None:
        raise NotFoundError(f"no annotator named {name!r}")
    return found


def _suggestion_for(session: Session, document_id: int, h: int, t: int, relation: str, *, kind: str,
                    annotator: str, derived_from: int | None = None) -> int:
    """The suggestion of this triple: the model's when one exists, else a new one marked as made by hand."""
    found = session.scalar(select(m.SuggestionRow.id).where(
        m.SuggestionRow.document_id == document_id, m.SuggestionRow.h == h, m.SuggestionRow.t == t,
        m.SuggestionRow.relation == relation))
    if found is not None:
        if control_kind(session, found) is not None:
            raise ReviewError(f"({h}, {t}, {relation}) is a control item in this queue; decide it there")
        return found
    row = m.SuggestionRow(document_id=document_id, h=h, t=t, relation=relation, score=0.0, created_at=utc_now())
    session.add(row)
    session.flush()
    session.add(m.ManualTripleRow(suggestion_id=row.id, kind=kind, created_by=_annotator_id(session, annotator),
                                  derived_from=derived_from, created_at=utc_now()))
    session.flush()
    return row.id


def _accept(session: Session, suggestion_id: int, annotator: str, evidence: Sequence[int], note: str | None) -> int:
    review_id = record_review(session, suggestion_id, annotator, "accept", note=note)
    if evidence:
        session.add(m.ReviewEvidenceRow(review_id=review_id, sentences=list(evidence)))
        session.flush()
    return review_id


def add_triple(session: Session, document_id: int, h: int, t: int, relation: str, annotator: str, *,
               evidence: Iterable[int] = (), note: str | None = None) -> ManualDecision:
    """Add (h, t, relation) on any pair as the annotator's accept, with the evidence sentences they marked.
    A triple a model already suggested is accepted as that suggestion; a gold or already accepted label is
    refused (DuplicateLabelError), nothing stored."""
    relation = _relation(relation)
    _check_pair(session, document_id, h, t)
    sentences = _check_evidence(session, document_id, evidence)
    suggestion_id = _suggestion_for(session, document_id, h, t, relation, kind=FREE, annotator=annotator)
    review_id = _accept(session, suggestion_id, annotator, sentences, note)
    logger.info("%s added (%d, %d, %s) in document %d: suggestion %d", annotator, h, t, relation, document_id,
                suggestion_id)
    return ManualDecision(suggestion_id, review_id)


def change_pair(session: Session, suggestion_id: int, annotator: str, *, h: int | None = None, t: int | None = None,
                relation: str | None = None, evidence: Iterable[int] = (), note: str | None = None) -> ManualDecision:
    """The suggestion's relation holds between another head or tail: reject the suggested triple and accept the
    moved one (both reviews by the annotator, the reject's note naming the new suggestion)."""
    original = session.get(m.SuggestionRow, suggestion_id)
    if original is None:
        raise NotFoundError(f"no suggestion with id {suggestion_id}")
    new_h, new_t = original.h if h is None else h, original.t if t is None else t
    if (new_h, new_t) == (original.h, original.t):
        raise ReviewError(f"suggestion {suggestion_id}: pick another head or tail (to change only the relation, "
                          "accept it with a corrected relation)")
    doc_id, old_relation = original.document_id, original.relation
    new_relation = _relation(relation or old_relation)
    _check_pair(session, doc_id, new_h, new_t)
    sentences = _check_evidence(session, doc_id, evidence)
    moved = _suggestion_for(session, doc_id, new_h, new_t, new_relation, kind=MOVED, annotator=annotator,
                            derived_from=suggestion_id)
    accepted = _accept(session, moved, annotator, sentences, note)
    rejected = record_review(session, suggestion_id, annotator, "reject",
                             note=f"head/tail changed to ({new_h}, {new_t}, {new_relation}): suggestion {moved}")
    return ManualDecision(moved, accepted, (suggestion_id, rejected))


def flag_gold(session: Session, document_id: int, h: int, t: int, relation: str, annotator: str, *,
              note: str | None = None) -> ManualDecision:
    """Flag the gold label (h, t, relation) as wrong: a reject that removes the label from the export once a
    curator confirms it (a curator's own flag confirms itself)."""
    relation = _relation(relation)
    if session.scalar(select(m.GoldFactRow.id).where(
            m.GoldFactRow.document_id == document_id, m.GoldFactRow.h == h, m.GoldFactRow.t == t,
            m.GoldFactRow.relation == relation).limit(1)) is None:
        raise NotFoundError(f"document {document_id} has no gold label ({h}, {t}, {relation}) to flag")
    suggestion_id = _suggestion_for(session, document_id, h, t, relation, kind=FLAG, annotator=annotator)
    if manual_kinds(session, [suggestion_id]).get(suggestion_id) != FLAG:
        raise ReviewError(f"({h}, {t}, {relation}) is already in the queue as suggestion {suggestion_id}; "
                          "reject it there")
    review_id = record_review(session, suggestion_id, annotator, "reject", note=note or "gold label flagged wrong")
    return ManualDecision(suggestion_id, review_id)


def confirm_flag(session: Session, suggestion_id: int, curator: str, *, remove: bool,
                 note: str | None = None) -> int:
    """A curator's verdict on a flagged gold label: remove it (a reject) or keep it (an accept)."""
    role = session.scalar(select(m.AnnotatorRow.role).where(m.AnnotatorRow.name == curator))
    if role is None:
        raise NotFoundError(f"no annotator named {curator!r}")
    if role != CURATOR:
        raise ReviewError(f"{curator} is an {role}: only a curator confirms that a gold label is removed")
    if manual_kinds(session, [suggestion_id]).get(suggestion_id) != FLAG:
        raise ReviewError(f"suggestion {suggestion_id} is not a flagged gold label")
    return record_review(session, suggestion_id, curator, "reject" if remove else "accept", note=note)


def manual_kinds(session: Session, suggestion_ids: Iterable[int]) -> dict[int, str]:
    """Which of these suggestions were made by hand, and how (free, moved, flag)."""
    return dict(session.execute(select(m.ManualTripleRow.suggestion_id, m.ManualTripleRow.kind)
                                .where(m.ManualTripleRow.suggestion_id.in_(list(suggestion_ids)))).tuples().all())


def open_flags(session: Session, dataset_id: int) -> list[SuggestionView]:
    """Gold labels an annotator flagged wrong that no curator has decided yet, oldest first."""
    states = suggestion_states()
    ids = session.scalars(
        select(m.SuggestionRow.id).join(m.ManualTripleRow, m.ManualTripleRow.suggestion_id == m.SuggestionRow.id)
        .join(states, states.c.suggestion_id == m.SuggestionRow.id).join(m.DocumentRow)
        .where(m.DocumentRow.dataset_id == dataset_id, m.ManualTripleRow.kind == FLAG,
               states.c.curated.is_(False), states.c.state != "pending")
        .order_by(m.SuggestionRow.id))
    return [get_suggestion(session, i) for i in ids]


def confirmed_removals(session: Session, doc_ids: Sequence[int]) -> dict[int, set[tuple[int, int, str]]]:
    """Per document, the gold triples a curator confirmed wrong: labels that are gone."""
    states = suggestion_states()
    out: dict[int, set[tuple[int, int, str]]] = defaultdict(set)
    for doc_id, h, t, r in session.execute(
            select(m.SuggestionRow.document_id, m.SuggestionRow.h, m.SuggestionRow.t, m.SuggestionRow.relation)
            .join(m.ManualTripleRow, m.ManualTripleRow.suggestion_id == m.SuggestionRow.id)
            .join(states, states.c.suggestion_id == m.SuggestionRow.id)
            .where(m.SuggestionRow.document_id.in_(list(doc_ids)), m.ManualTripleRow.kind == FLAG,
                   states.c.curated.is_(True), states.c.state == REJECTED)):
        out[doc_id].add((h, t, r))
    return out


def review_evidence(session: Session, review_ids: Iterable[int]) -> dict[int, tuple[int, ...]]:
    """The evidence sentences marked with these reviews, for those that have any."""
    return {i: tuple(s) for i, s in session.execute(
        select(m.ReviewEvidenceRow.review_id, m.ReviewEvidenceRow.sentences)
        .where(m.ReviewEvidenceRow.review_id.in_(list(review_ids))))}
