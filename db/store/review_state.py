"""A suggestion's state, derived in SQL from the insert-only review log (one query, any page size).

The rules, in order:
1. Effective reviews: accept/reject/skip rows that no "undo" row points at. An annotator's current decision
   on a suggestion is their latest effective review (highest id: the order the database saw them).
2. A curator's current accept or reject decides: "accepted" / "rejected". (A curator's skip decides nothing.)
3. Otherwise the other annotators' current accepts and rejects are compared, an accept keyed by the relation
   it accepts (a corrected relation counts as a different answer): two or more answers -> "conflict"; one
   -> "accepted" or "rejected".
4. Only skips -> "skipped"; no effective review -> "pending"."""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, distinct, exists, func, literal, select
from sqlalchemy.orm import aliased

from . import models as m
from .domain import ACCEPTED, CONFLICT, PENDING, REJECTED, SKIPPED

CURATOR = "curator"
VERDICTS = ("accept", "reject")


def effective_reviews() -> Any:
    """Accept/reject/skip reviews not undone, with the relation each one is about (its correction, if any)."""
    undo = aliased(m.ReviewRow)
    return (
        select(m.ReviewRow.id, m.ReviewRow.suggestion_id, m.ReviewRow.annotator_id, m.ReviewRow.role,
               m.ReviewRow.decision,
               func.coalesce(m.ReviewRow.relation, m.SuggestionRow.relation).label("relation"))
        .join(m.SuggestionRow, m.SuggestionRow.id == m.ReviewRow.suggestion_id)
        .where(m.ReviewRow.decision != m.UNDO, ~exists().where(undo.undoes_id == m.ReviewRow.id))
    )


def current_decisions() -> Any:
    """Subquery: each annotator's latest effective review per suggestion."""
    ranked = effective_reviews().add_columns(
        func.row_number().over(partition_by=(m.ReviewRow.suggestion_id, m.ReviewRow.annotator_id),
                               order_by=m.ReviewRow.id.desc()).label("rank")
    ).subquery()
    return select(ranked).where(ranked.c.rank == 1).subquery("current_decisions")


def suggestion_states() -> Any:
    """Subquery (suggestion_id, state, accepted_relation, disputed, curated) for every suggestion; see the module
    docstring. `disputed`: two or more annotators' answers differ, whether or not a curator has resolved it;
    `curated`: a curator's current verdict decides the state (what confirms a gold label flagged wrong)."""
    cur = current_decisions()
    verdict = cur.c.decision.in_(VERDICTS)
    curator = cur.c.role == CURATOR
    by_annotator = and_(verdict, ~curator)
    answer = case((cur.c.decision == "reject", literal("reject")), else_=literal("accept:") + cur.c.relation)
    agg = (
        select(cur.c.suggestion_id,
               func.count(distinct(case((by_annotator, answer)))).label("n_answers"),
               func.min(case((by_annotator, answer))).label("answer"),
               func.min(case((and_(by_annotator, cur.c.decision == "accept"), cur.c.relation))).label("relation"),
               func.max(case((and_(verdict, curator), cur.c.id))).label("curator_review_id"))
        .group_by(cur.c.suggestion_id)
        .subquery("decided")
    )
    final = aliased(m.ReviewRow)
    curated = agg.c.curator_review_id.is_not(None)
    state = case(
        (curated, case((final.decision == "accept", literal(ACCEPTED)), else_=literal(REJECTED))),
        (agg.c.n_answers > 1, literal(CONFLICT)),
        (agg.c.answer == "reject", literal(REJECTED)),
        (agg.c.answer.is_not(None), literal(ACCEPTED)),
        (agg.c.suggestion_id.is_not(None), literal(SKIPPED)),
        else_=literal(PENDING),
    )
    accepted_relation = case(
        (curated, case((final.decision == "accept", func.coalesce(final.relation, m.SuggestionRow.relation)))),
        (and_(agg.c.n_answers == 1, agg.c.answer != "reject"), agg.c.relation),
    )
    disputed = func.coalesce(agg.c.n_answers, 0) > 1  # annotators disagree (a curator may have resolved it)
    return (
        select(m.SuggestionRow.id.label("suggestion_id"), state.label("state"),
               accepted_relation.label("accepted_relation"), disputed.label("disputed"),
               curated.label("curated"))
        .outerjoin(agg, agg.c.suggestion_id == m.SuggestionRow.id)
        .outerjoin(final, final.id == agg.c.curator_review_id)
        .subquery("suggestion_states")
    )
