"""Documents with the review outcome applied: gold + accepted - rejected, each added label with provenance.

An accepted suggestion becomes a `Fact` (with the corrected relation where the reviewer corrected it) whose
`extra["provenance"]` says who decided, when, with which score and models; `document_to_json` writes it as
an extra label key, and uploading that file again stores the label with origin "review". A rejected
suggestion of a triple the gold labels hold removes that label."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.data.documents import Document, Fact

from . import models as m
from .domain import ACCEPTED, REJECTED
from .review_state import suggestion_states
from .store_documents import document_ids, load_documents
from .store_suggestions import current_decisions_of

ORIGIN_REVIEW = "review"  # what store_documents.fact_origin reads back


def _provenance(suggestion: m.Suggestion, relation: str, decisions: Sequence[Any], methods: Sequence[str]) -> dict[str, Any]:
    """Who made the decision that counts: the curator's, else the latest of the agreeing annotators'."""
    curated = [d for d in decisions if d.role == "curator" and d.decision in ("accept", "reject")]
    deciding = curated[-1] if curated else [d for d in decisions if d.decision in ("accept", "reject")][-1]
    return {
        "origin": ORIGIN_REVIEW, "suggestion_id": suggestion.id, "annotator": deciding.annotator,
        "role": deciding.role, "decided_at": deciding.created_at.isoformat(), "score": round(suggestion.score, 5),
        "suggested_relation": suggestion.relation, "corrected": relation != suggestion.relation,
        "models": list(methods),
    }


def _outcomes(session: Session, doc_ids: Sequence[int]) -> tuple[dict[int, list[Fact]], dict[int, set[tuple[int, int, str]]]]:
    """Per document: facts accepted by review, and (h, t, relation) triples rejected by review."""
    states = suggestion_states()
    rows = session.execute(
        select(m.Suggestion, states.c.state, states.c.accepted_relation)
        .join(states, states.c.suggestion_id == m.Suggestion.id)
        .where(m.Suggestion.document_id.in_(doc_ids), states.c.state.in_((ACCEPTED, REJECTED)))
        .order_by(m.Suggestion.document_id, m.Suggestion.id)).all()
    ids = [row[0].id for row in rows]
    decisions = current_decisions_of(session, ids)
    methods: dict[int, list[str]] = defaultdict(list)
    for suggestion_id, method in session.execute(
            select(m.SuggestionSource.suggestion_id, m.ModelRun.method).join(m.ModelRun)
            .where(m.SuggestionSource.suggestion_id.in_(ids)).order_by(m.SuggestionSource.run_id)):
        if method not in methods[suggestion_id]:
            methods[suggestion_id].append(method)
    accepted: dict[int, list[Fact]] = defaultdict(list)
    rejected: dict[int, set[tuple[int, int, str]]] = defaultdict(set)
    for suggestion, state, relation in rows:
        if state == REJECTED:
            rejected[suggestion.document_id].add((suggestion.h, suggestion.t, suggestion.relation))
            continue
        provenance = _provenance(suggestion, relation, decisions[suggestion.id], methods[suggestion.id])
        accepted[suggestion.document_id].append(Fact(suggestion.h, suggestion.t, relation, (),
                                                     {"provenance": provenance}))
    return accepted, rejected


def _apply(doc: Document, accepted: Sequence[Fact], rejected: set[tuple[int, int, str]]) -> Document:
    if not accepted and not rejected:
        return doc
    kept = [f for f in doc.facts or () if (f.h, f.t, f.r) not in rejected]
    have = {(f.h, f.t, f.r) for f in kept}
    added = []
    for fact in accepted:
        if (fact.h, fact.t, fact.r) not in have:
            have.add((fact.h, fact.t, fact.r))
            added.append(fact)
    if doc.facts is None and not added:
        return doc
    return replace(doc, facts=tuple(kept + added))


def reviewed_documents(session: Session, doc_ids: Sequence[int]) -> list[Document]:
    """Documents (in the order asked) with the review outcome applied."""
    docs = load_documents(session, doc_ids)
    accepted, rejected = _outcomes(session, doc_ids)
    return [_apply(docs[i], accepted.get(i, []), rejected.get(i, set())) for i in doc_ids]


def get_document(session: Session, doc_id: int, *, reviewed: bool = True) -> Document:
    """A document; with `reviewed`, its labels include what review accepted and lose what it rejected
    (labels added by review carry extra["provenance"]; uploaded ones do not unless an export added them)."""
    if not reviewed:
        return load_documents(session, [doc_id])[doc_id]
    return reviewed_documents(session, [doc_id])[0]


def export_documents(session: Session, dataset_id: int) -> list[Document]:
    """The whole dataset in upload order, ready for engine.data.documents.write_documents."""
    return reviewed_documents(session, document_ids(session, dataset_id))

