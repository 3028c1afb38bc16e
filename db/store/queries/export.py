"""Documents with the review outcome applied: gold + accepted - rejected, each added label with provenance.

An accepted suggestion becomes a `Fact` (with the corrected relation where the reviewer corrected it) whose
`extra["provenance"]` says who decided, when, with which score and models; `document_to_json` writes it as
an extra label key, and uploading that file again stores the label with origin "review". A rejected
suggestion of a triple the gold labels hold removes that label."""
from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.data.documents import Document, Fact, document_to_json

from .. import models as m
from ..domain import ACCEPTED, REJECTED
from ..review_state import suggestion_states
from .annotations import review_evidence
from .controls import control_ids
from .documents import document_ids, load_documents, load_sources
from .suggestions import current_decisions_of

FLAG = "flag"  # db.store.models.MANUAL_KINDS: a gold label flagged wrong

ORIGIN_REVIEW = "review"  # what queries.documents.fact_origin reads back


def _deciding(decisions: Sequence[Any]) -> Any:
    """The decision that counts: the curator's, else the latest of the agreeing annotators'."""
    curated = [d for d in decisions if d.role == "curator" and d.decision in ("accept", "reject")]
    return curated[-1] if curated else [d for d in decisions if d.decision in ("accept", "reject")][-1]


def _provenance(suggestion: m.SuggestionRow, relation: str, deciding: Any, methods: Sequence[str],
                manual: str | None) -> dict[str, Any]:
    return {
        "origin": ORIGIN_REVIEW, "suggestion_id": suggestion.id, "annotator": deciding.annotator,
        "role": deciding.role, "decided_at": deciding.created_at.isoformat(), "score": round(suggestion.score, 5),
        "suggested_relation": suggestion.relation, "corrected": relation != suggestion.relation,
        "models": list(methods),
    } | ({"manual": manual} if manual else {})


def _outcomes(session: Session, doc_ids: Sequence[int]) -> tuple[dict[int, list[Fact]],
                                                                 dict[int, set[tuple[int, int, str]]]]:
    """Per document: facts accepted by review, and (h, t, relation) triples rejected by review. Control items
    (db.store.queries.controls) are left out: a decision on one measures the annotator and never changes a label.
    A gold label flagged wrong (db.store.queries.annotations) is rejected only once a curator's verdict decides
    it; a triple added by hand carries the evidence sentences its reviewer marked."""
    states = suggestion_states()
    rows = [(suggestion, state, relation, manual) for suggestion, state, relation, curated, manual in session.execute(
        select(m.SuggestionRow, states.c.state, states.c.accepted_relation, states.c.curated, m.ManualTripleRow.kind)
        .join(states, states.c.suggestion_id == m.SuggestionRow.id)
        .outerjoin(m.ManualTripleRow, m.ManualTripleRow.suggestion_id == m.SuggestionRow.id)
        .where(m.SuggestionRow.document_id.in_(doc_ids), states.c.state.in_((ACCEPTED, REJECTED)),
               m.SuggestionRow.id.not_in(control_ids()))
        .order_by(m.SuggestionRow.document_id, m.SuggestionRow.id))
        if manual != FLAG or (curated and state == REJECTED)]
    ids = [row[0].id for row in rows]
    decisions = current_decisions_of(session, ids)
    methods: dict[int, list[str]] = defaultdict(list)
    for suggestion_id, method in session.execute(
            select(m.SuggestionSourceRow.suggestion_id, m.ModelRunRow.method).join(m.ModelRunRow)
            .where(m.SuggestionSourceRow.suggestion_id.in_(ids)).order_by(m.SuggestionSourceRow.run_id)):
        if method not in methods[suggestion_id]:
            methods[suggestion_id].append(method)
    accepted: dict[int, list[Fact]] = defaultdict(list)
    rejected: dict[int, set[tuple[int, int, str]]] = defaultdict(set)
    # an accepted triple's evidence: the sentences naming both entities (empty for an inter-sentence pair)
    shared = _mention_sentences(session, sorted({row[0].document_id for row in rows}))
    deciding = {row[0].id: _deciding(decisions[row[0].id]) for row in rows if row[1] == ACCEPTED}
    marked = review_evidence(session, [d.review_id for d in deciding.values()])
    for suggestion, state, relation, manual in rows:
        if state == REJECTED:
            rejected[suggestion.document_id].add((suggestion.h, suggestion.t, suggestion.relation))
            continue
        decision = deciding[suggestion.id]
        provenance = _provenance(suggestion, relation, decision, methods[suggestion.id], manual)
        evidence = marked.get(decision.review_id) or (
            shared[(suggestion.document_id, suggestion.h)] & shared[(suggestion.document_id, suggestion.t)])
        accepted[suggestion.document_id].append(Fact(suggestion.h, suggestion.t, relation, tuple(sorted(evidence)),
                                                     {"provenance": provenance}))
    return accepted, rejected


def _mention_sentences(session: Session, doc_ids: Sequence[int]) -> dict[tuple[int, int], set[int]]:
    """(document id, entity idx) -> the sentences its mentions are in."""
    out: dict[tuple[int, int], set[int]] = defaultdict(set)
    for doc_id, idx, sent_id in session.execute(
            select(m.EntityRow.document_id, m.EntityRow.idx, m.MentionRow.sent_id).join(m.MentionRow)
            .where(m.EntityRow.document_id.in_(list(doc_ids)))):
        out[(doc_id, idx)].add(sent_id)
    return out


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


def rejected_triples(session: Session, doc_ids: Sequence[int]) -> dict[int, set[tuple[int, int, str]]]:
    """Per document, the (h, t, relation) triples review rejected: what a fine-tune must not learn back from the
    base model's own predictions (engine.train.finetune.keep_predictions)."""
    return dict(_outcomes(session, doc_ids)[1])


def get_document(session: Session, doc_id: int, *, reviewed: bool = True) -> Document:
    """A document; with `reviewed`, its labels include what review accepted and lose what it rejected
    (labels added by review carry extra["provenance"]; uploaded ones do not unless an export added them)."""
    if not reviewed:
        return load_documents(session, [doc_id])[doc_id]
    return reviewed_documents(session, [doc_id])[0]


def export_documents(session: Session, dataset_id: int) -> list[Document]:
    """The whole dataset in upload order, ready for engine.data.documents.write_documents."""
    return reviewed_documents(session, document_ids(session, dataset_id))



def _label_json(fact: Fact) -> dict[str, Any]:
    return {"h": fact.h, "t": fact.t, "r": fact.r, "evidence": list(fact.evidence)} | {
        k: v for k, v in fact.extra.items() if k not in ("h", "t", "r", "evidence")}


def export_json(session: Session, dataset_id: int) -> list[dict[str, Any]]:
    """The dataset as DocRED JSON objects with the review applied, in upload order. Each document starts from
    the object it was uploaded as (every key kept: unknown document, label and mention keys alike); review
    drops the labels it rejected and appends the ones it accepted. A document review did not touch comes out
    equal to its upload."""
    ids = document_ids(session, dataset_id)
    docs = load_documents(session, ids)
    sources = load_sources(session, ids)
    accepted, rejected = _outcomes(session, ids)
    out = []
    for i in ids:
        obj = copy.deepcopy(sources[i]) if i in sources else document_to_json(docs[i])
        gone, new = rejected.get(i, set()), accepted.get(i, [])
        if gone or new:
            labels = obj.get("labels")
            kept = [label for label in labels or [] if (label["h"], label["t"], label["r"]) not in gone]
            have = {(label["h"], label["t"], label["r"]) for label in kept}
            added = []
            for fact in new:
                if (fact.h, fact.t, fact.r) not in have:
                    have.add((fact.h, fact.t, fact.r))
                    added.append(_label_json(fact))
            if labels is not None or added:
                obj["labels"] = kept + added
        out.append(obj)
    return out
