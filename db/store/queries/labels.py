"""The labels an entity pair already has: its gold (uploaded) relations and those review accepted, so an
annotator sees them beside the item and an accept never adds a label twice."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import models as m
from ..domain import ACCEPTED, REJECTED
from ..errors import DuplicateLabelError
from ..review_state import suggestion_states
from .controls import GOLD, control_ids, control_kind


@dataclass(frozen=True)
class PairLabels:
    """Relation ids of one ordered pair: uploaded gold ones and (relation, suggestion id) accepted by review."""

    gold: tuple[str, ...]
    accepted: tuple[tuple[str, int], ...]

    def all(self) -> set[str]:
        return set(self.gold) | {r for r, _ in self.accepted}


def pair_labels(session: Session, document_id: int, h: int, t: int, *,
                exclude_suggestion: int | None = None) -> PairLabels:
    """The pair's current labels; `exclude_suggestion` leaves out what that suggestion's own acceptance added.
    Control items never count as labels added by review; and for a gold control, `exclude_suggestion` also
    leaves out the gold label it asks about, so the item does not give its answer away (nor refuse it)."""
    gold = list(session.scalars(select(m.GoldFactRow.relation).where(
        m.GoldFactRow.document_id == document_id, m.GoldFactRow.h == h, m.GoldFactRow.t == t)
                                .order_by(m.GoldFactRow.position)))
    gone = set(session.scalars(_confirmed_flags(document_id, h, t)))
    gold = [r for r in gold if r not in gone]
    if exclude_suggestion is not None and control_kind(session, exclude_suggestion) == GOLD:
        asked = session.scalar(select(m.SuggestionRow.relation).where(m.SuggestionRow.id == exclude_suggestion))
        gold = [r for r in gold if r != asked]
    states = suggestion_states()
    query = (select(states.c.accepted_relation, m.SuggestionRow.id).join(states,
                                                                         states.c.suggestion_id == m.SuggestionRow.id)
             .where(m.SuggestionRow.document_id == document_id, m.SuggestionRow.h == h, m.SuggestionRow.t == t,
                    states.c.state == ACCEPTED, m.SuggestionRow.id.not_in(control_ids())).order_by(m.SuggestionRow.id))
    if exclude_suggestion is not None:
        query = query.where(m.SuggestionRow.id != exclude_suggestion)
    return PairLabels(tuple(dict.fromkeys(gold)), tuple((r, i) for r, i in session.execute(query) if r))


def _confirmed_flags(document_id: int, h: int, t: int) -> Any:
    """Relations of the pair's gold labels a curator confirmed wrong (db.store.queries.annotations.flag_gold)."""
    states = suggestion_states()
    return (select(m.SuggestionRow.relation).join(m.ManualTripleRow,
                                                  m.ManualTripleRow.suggestion_id == m.SuggestionRow.id)
            .join(states, states.c.suggestion_id == m.SuggestionRow.id)
            .where(m.SuggestionRow.document_id == document_id, m.SuggestionRow.h == h, m.SuggestionRow.t == t,
                   m.ManualTripleRow.kind == "flag", states.c.curated.is_(True), states.c.state == REJECTED))


def lock_document(session: Session, document_id: int) -> None:
    """Hold the document's row until the transaction ends (a no-op UPDATE): a row lock on PostgreSQL and the
    write lock on SQLite, taken before the pair's labels are read, so checks and the writes they allow serialise."""
    session.execute(update(m.DocumentRow).where(m.DocumentRow.id == document_id).values(id=m.DocumentRow.id)
                    .execution_options(synchronize_session=False))


def check_not_duplicate(session: Session, suggestion: m.SuggestionRow, relation: str) -> None:
    """Refuse (DuplicateLabelError) an accept of `relation` when the pair already holds that label. Accepting a
    flagged gold label is keeping it, never a duplicate."""
    manual = session.get(m.ManualTripleRow, suggestion.id)
    if manual is not None and manual.kind == "flag":
        return
    labels = pair_labels(session, suggestion.document_id, suggestion.h, suggestion.t, exclude_suggestion=suggestion.id)
    if relation in labels.gold:
        raise DuplicateLabelError(f"the pair already has {relation} as a gold label; nothing was recorded. "
                                  "Reject the suggestion, or choose a relation the pair does not have yet")
    if relation in {r for r, _ in labels.accepted}:
        raise DuplicateLabelError(f"the pair already has {relation}, accepted in review of another suggestion; "
                                  "nothing was recorded. Reject this one, or choose another relation")
