"""Adjudication: the dataset's conflicts (annotators disagree) with every decision, note and who/when, and a
curator's resolution, recorded as one more insert-only review that the export follows."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from db import store
from db.store.domain import ReviewRecord, SuggestionPage, SuggestionView

from .resources import session


def conflicts(dataset_id: int, *, include_resolved: bool = False, limit: int = 20, offset: int = 0) -> SuggestionPage:
    """Open conflicts (state "conflict"); with include_resolved, also those a curator has resolved. Control
    items are never conflicts to resolve: their answer is known, and the Evaluate page scores it."""
    filters: dict[str, Any] = {"disputed": True, "control": False}
    if not include_resolved:
        filters["state"] = "conflict"
    with session() as s:
        return store.list_suggestions(s, dataset_id, filters, limit=limit, offset=offset)


def decision_rows(view: SuggestionView, names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Each person's current decision on the item: who, role, what, which relation, note, when."""
    return [{"annotator": d.annotator, "role": d.role, "decision": d.decision,
             "relation": f"{names.get(d.relation, d.relation)} ({d.relation})" if d.decision == "accept" else "",
             "corrected": d.corrected, "note": d.note or "", "time (UTC)": d.created_at.strftime("%Y-%m-%d %H:%M:%S")}
            for d in view.decisions]


def proposed_relations(view: SuggestionView) -> list[str]:
    """The relations the annotators accepted (corrections included), the suggested one first."""
    accepted = [d.relation for d in view.decisions if d.decision == "accept"]
    return list(dict.fromkeys([view.relation, *accepted]))


def trail(suggestion_id: int) -> list[ReviewRecord]:
    """The item's whole review log, oldest first: nothing is ever changed or removed by a resolution."""
    with session() as s:
        return list(reversed(store.review_history(s, suggestion_id=suggestion_id, limit=1000)))


def trail_rows(records: list[ReviewRecord]) -> list[dict[str, Any]]:
    return [{"review": r.id, "time (UTC)": r.created_at.strftime("%Y-%m-%d %H:%M:%S"), "annotator": r.annotator,
             "role": r.role, "decision": f"undo of #{r.undoes_id}" if r.decision == "undo" else r.decision,
             "relation": r.relation or "", "note": r.note or "", "undone": r.undone} for r in records]


def resolve(suggestion_id: int, curator: str, decision: str, *, relation: str | None = None,
            note: str | None = None) -> int:
    """The curator's final accept (with the relation chosen) or reject."""
    with session() as s:
        return store.resolve_conflict(s, suggestion_id, curator, decision, relation=relation, note=note)
