"""Annotation where the model is wrong, for the pages: a triple added by hand on any pair, a suggestion's head or
tail changed, a gold label flagged wrong and a curator's verdict on it (db.store.queries.annotations). Each is an
insert-only review with who and when; this module adds what a page needs to offer them (mentions in text order,
sentences to mark as evidence) and to say what was stored."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from db import store
from db.store.domain import SuggestionView
from db.store.errors import StoreError  # noqa: F401 - re-exported: what the pages catch and show
from db.store.queries.labels import PairLabels
from engine.data.documents import Document

from .resources import session
from .review import _check_acting_as


@dataclass(frozen=True)
class Stored:
    """What an annotation stored, as a page reports it: the suggestion it decided, by whom and when."""

    suggestion_id: int
    annotator: str
    created_at: datetime
    replaced: int | None = None  # a head/tail change: the suggestion it rejected


def _stored(s, decision: store.ManualDecision, annotator: str) -> Stored:
    (record,) = store.review_history(s, annotator, suggestion_id=decision.suggestion_id, limit=1)
    return Stored(decision.suggestion_id, annotator, record.created_at,
                  decision.replaced[0] if decision.replaced else None)


def add_triple(document_id: int, h: int, t: int, relation: str, annotator: str, *, evidence: Iterable[int] = (),
               note: str | None = None) -> Stored:
    """Add (h, t, relation) as the annotator's accepted positive, with the evidence sentences they marked."""
    with session() as s:
        _check_acting_as(s, annotator)
        decision = store.add_triple(s, document_id, h, t, relation, annotator, evidence=evidence, note=note or None)
        return _stored(s, decision, annotator)


def change_pair(suggestion_id: int, annotator: str, *, h: int, t: int, relation: str | None = None,
                note: str | None = None) -> Stored:
    """The suggested relation holds between another head or tail: the suggestion is rejected, the moved triple
    accepted (relation: the suggested one unless another is given)."""
    with session() as s:
        _check_acting_as(s, annotator)
        decision = store.change_pair(s, suggestion_id, annotator, h=h, t=t, relation=relation, note=note or None)
        return _stored(s, decision, annotator)


def flag_gold(document_id: int, h: int, t: int, relation: str, annotator: str, *, note: str | None = None) -> Stored:
    """Flag the gold label as wrong; the export drops it once a curator confirms (a curator's flag confirms itself)."""
    with session() as s:
        _check_acting_as(s, annotator)
        decision = store.flag_gold(s, document_id, h, t, relation, annotator, note=note or None)
        return _stored(s, decision, annotator)


def confirm_flag(suggestion_id: int, curator: str, *, remove: bool, note: str | None = None) -> int:
    """A curator's verdict on a flagged gold label: remove it from the export, or keep it."""
    with session() as s:
        return store.confirm_flag(s, suggestion_id, curator, remove=remove, note=note or None)


def open_flags(dataset_id: int) -> list[SuggestionView]:
    """Gold labels flagged wrong that no curator has decided yet, oldest first."""
    with session() as s:
        return store.open_flags(s, dataset_id)


def pair_labels(document_id: int, h: int, t: int) -> PairLabels:
    """The pair's labels now: uploaded gold and accepted by review (a free triple included)."""
    with session() as s:
        return store.pair_labels(s, document_id, h, t)


def mentions_in_text_order(doc: Document) -> list[tuple[int, int]]:
    """(entity, mention) of every mention, as they occur in the text: what a reader picks a head or tail from."""
    found = [(m.sent_id, m.start, e, i) for e, entity in enumerate(doc.entities) for i, m in enumerate(entity.mentions)]
    return [(e, i) for _, _, e, i in sorted(found)]


def mention_label(doc: Document, key: tuple[int, int]) -> str:
    """'[2] Curie → entity 3 · Marie Curie (PER)': a mention, its sentence and the entity it belongs to (plain)."""
    e, i = key
    mention = doc.entities[e].mentions[i]
    return f"[{mention.sent_id}] {mention.name} → entity {e} · {doc.entities[e].name} ({doc.entities[e].type})"


def sentence_label(doc: Document, i: int, limit: int = 70) -> str:
    """'[3] Curie later moved to Paris …': a sentence to mark as evidence (plain text, cut)."""
    text = " ".join(doc.sents[i])
    return f"[{i}] " + (text if len(text) <= limit else text[: limit - 1] + "…")


def labels_text(labels: PairLabels, names: Mapping[str, str]) -> list[str]:
    """One line per label of the pair: the relation and where it comes from (gold, added or accepted by review)."""
    rows = [f"{names.get(r, r)} ({r}) · gold" for r in labels.gold]
    rows += [f"{names.get(r, r)} ({r}) · accepted by review" for r, _ in labels.accepted if r not in labels.gold]
    return rows


def _when(stored: Stored) -> str:
    return f"by {stored.annotator} at {stored.created_at:%Y-%m-%d %H:%M:%S} UTC"


def added_message(doc: Document, h: int, t: int, relation: str, evidence: Sequence[int], stored: Stored,
                  names: Mapping[str, str]) -> str:
    """The flash after a free triple: the triple, its evidence, who and when."""
    return (f"Added: {doc.entities[h].name} → {doc.entities[t].name}, {names.get(relation, relation)} ({relation})"
            + (", evidence " + " ".join(f"[{i}]" for i in sorted(evidence)) if evidence else "")
            + f" ({_when(stored)}), an accepted label in “{doc.title}”.")


def moved_message(doc: Document, view: SuggestionView, h: int, t: int, relation: str, stored: Stored,
                  names: Mapping[str, str]) -> str:
    """The flash after a head/tail change: the rejected triple and the accepted one."""
    return (f"Moved {names.get(view.relation, view.relation)} ({view.relation}) from {view.head_name} → "
            f"{view.tail_name} (rejected) to {doc.entities[h].name} → {doc.entities[t].name}, "
            f"{names.get(relation, relation)} ({relation}) (accepted) {_when(stored)}.")


def flagged_message(doc: Document, h: int, t: int, relation: str, stored: Stored, names: Mapping[str, str],
                    curator: bool) -> str:
    """The flash after flagging a gold label: what happens next."""
    return (f"Flagged the gold label {doc.entities[h].name} → {doc.entities[t].name}, "
            f"{names.get(relation, relation)} ({relation}) as wrong ({_when(stored)}): "
            + ("as a curator's flag it is removed from the export." if curator
               else "a curator confirms or rejects the removal (Adjudicate page)."))


def flagged_by(view: SuggestionView) -> str:
    """Who flagged the label and why (their note), for the curators' list."""
    return "; ".join(f"{d.annotator}" + (f": {d.note}" if d.note else "") for d in view.decisions) or "unknown"
