"""Entity editing after storing, for the Document page: add or remove a mention, merge, split, change a type
(db.store.queries.entity_edits, each edit a version with who and when), then rescore only the pairs the edit
touched (db.workflows.entity_rescore), and say in plain words what followed, what was flagged, what was rescored."""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from db import store
from db.store import ENTITY_TYPES  # noqa: F401 - re-exported for the pages
from db.store.queries.entity_edits import EntityEdit
from db.workflows.entity_rescore import rescore_affected
from engine.data.documents import Document
from engine.errors import DocreError

from . import documents, scoring
from .resources import factory, predictor, session
from .review import _check_acting_as

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EditOutcome:
    """An edit as stored and what it set off: the runs rescored (pairs touching `affected` only), or why not."""

    edit: EntityEdit
    runs_rescored: int
    pairs_rescored: int
    rescore_problem: str | None = None


def _edit(document_id: int, annotator: str, make: Callable[[Session], EntityEdit]) -> EditOutcome:
    """Store one edit, drop the cached copies it changed, and rescore the pairs it touched. A rescore that fails
    (a checkpoint gone) leaves the edit stored and says which pairs keep stale scores."""
    with session() as s:
        _check_acting_as(s, annotator)
        edit = make(s)
    documents.clear_document_caches()
    affected = list(edit.details.get("affected", ()))
    n = documents.document(document_id).num_entities
    pairs = n * (n - 1) - (n - len(affected)) * (n - len(affected) - 1)  # ordered pairs with an end in affected
    try:
        runs = rescore_affected(factory(), document_id, affected, predictor)
    except (DocreError, OSError) as err:
        log.warning("document %d: rescoring after edit %d failed: %s", document_id, edit.version, err)
        return EditOutcome(edit, 0, 0, str(err))
    finally:
        scoring.clear_score_caches()
    return EditOutcome(edit, runs, pairs if runs else 0)


def add_mention(document_id: int, annotator: str, *, sent_id: int, start: int, end: int, entity: int | None,
                entity_type: str | None = None) -> EditOutcome:
    """Tokens sents[sent_id][start:end] become a mention of `entity`, or of a new entity of `entity_type`."""
    return _edit(document_id, annotator, lambda s: store.add_mention(
        s, document_id, annotator, sent_id=sent_id, start=start, end=end, entity=entity, entity_type=entity_type))


def remove_mention(document_id: int, annotator: str, *, entity: int, mention: int) -> EditOutcome:
    return _edit(document_id, annotator, lambda s: store.remove_mention(s, document_id, annotator, entity=entity,
                                                                         mention=mention))


def set_type(document_id: int, annotator: str, *, entity: int, entity_type: str) -> EditOutcome:
    return _edit(document_id, annotator, lambda s: store.set_type(s, document_id, annotator, entity=entity,
                                                                   entity_type=entity_type))


def merge(document_id: int, annotator: str, *, a: int, b: int) -> EditOutcome:
    """The higher index joins the lower; labels and suggestions follow (the store refuses what would be lost)."""
    return _edit(document_id, annotator, lambda s: store.merge_entities(s, document_id, annotator, a=a, b=b))


def split(document_id: int, annotator: str, *, entity: int, mentions: Sequence[int]) -> EditOutcome:
    """The chosen mentions become a new last entity; labels and reviewed suggestions on `entity` are flagged."""
    return _edit(document_id, annotator, lambda s: store.split_entity(s, document_id, annotator, entity=entity,
                                                                       mentions=list(mentions)))


def edit_log(document_id: int) -> list[EntityEdit]:
    """The document's entity versions, oldest first (version 0 is the upload)."""
    with session() as s:
        return store.edit_log(s, document_id)


def entities_at(document_id: int, version: int) -> list[dict[str, Any]]:
    """The entity set at a version as table rows: index, type, mentions."""
    with session() as s:
        vertex_set = store.entity_set_at(s, document_id, version)
    return [{"entity": i, "type": ms[0]["type"] if ms else "", "mentions": " | ".join(x["name"] for x in ms)}
            for i, ms in enumerate(vertex_set)]


def span_text(doc: Document, sent_id: int, start: int, end: int) -> str:
    """The tokens a mention would cover (end exclusive), as the text reads them."""
    return " ".join(doc.sents[sent_id][start:end])


def _triple(item: dict[str, Any]) -> str:
    return f"({item['h']} → {item['t']}, {item['r']})"


def edit_summary(edit: EntityEdit) -> str:
    """One line per version for the log: what the edit did, from its stored details alone."""
    d = edit.details
    if edit.kind == "add_mention":
        sent, start, end = d["mention"]
        return f"added “{d['name']}” (sentence {sent}, tokens {start}:{end}) to entity {d['entity']}"
    if edit.kind == "remove_mention":
        return f"removed “{d['removed']['name']}” (sentence {d['removed']['sent_id']}) from entity {d['entity']}"
    if edit.kind == "set_type":
        return f"entity {d['entity']}: type {d['from']} → {d['to']}"
    if edit.kind == "merge":
        return f"merged entity {d['merged']} into entity {d['kept']}; later entities moved down one"
    if edit.kind == "split":
        return f"split mentions {d['moved_mentions']} of entity {d['entity']} into new entity {d['new_entity']}"
    return edit.kind


def outcome_messages(outcome: EditOutcome, before: Document) -> tuple[str, list[str]]:
    """(what was done, warnings): the edit with the names as they were, what followed a merge, what a split
    flagged for someone to check, and what was rescored."""
    edit, d = outcome.edit, outcome.edit.details
    said = f"Version {edit.version} by {edit.annotator} at {edit.created_at:%Y-%m-%d %H:%M:%S} UTC: "
    warnings: list[str] = []
    if edit.kind == "merge":
        kept, gone = d["kept"], d["merged"]
        said += (f"merged entity {gone} ({before.entities[gone].name}) into entity {kept} "
                 f"({before.entities[kept].name}); its labels and suggestions followed to entity {kept}, and the "
                 f"entities after {gone} moved down one.")
        if d.get("merged_labels"):
            said += " Labels both entities had are kept once: " + ", ".join(
                _triple({"h": h, "t": t, "r": r}) for h, t, r in d["merged_labels"]) + "."
        if d.get("merged_suggestions"):
            said += f" {len(d['merged_suggestions'])} suggestion(s) of one triple joined, their reviews kept."
        if d.get("dropped_suggestions"):
            said += f" {len(d['dropped_suggestions'])} unreviewed suggestion(s) between the two were dropped."
    elif edit.kind == "split":
        said += edit_summary(edit) + "."
        flagged = d.get("flagged") or []
        if flagged:
            warnings.append(f"Check these: they were on entity {d['entity']} and stay there; only you know which part "
                            "they meant: " + "; ".join(
                                ("gold label " if f["what"] == "label" else f"reviewed suggestion #{f['id']} ")
                                + _triple(f) for f in flagged) + ".")
    else:
        said += edit_summary(edit) + "."
    if outcome.rescore_problem:
        warnings.append(f"Rescoring failed ({outcome.rescore_problem}); the scores of pairs with entity "
                        f"{', '.join(map(str, d.get('affected', [])))} are stale until the document is scored again.")
    elif outcome.runs_rescored:
        said += (f" Rescored the {outcome.pairs_rescored} pairs touching entity "
                 f"{', '.join(map(str, d.get('affected', [])))} in {outcome.runs_rescored} model run(s); every other "
                 "pair kept its scores.")
    else:
        said += " No model has scored this document, so nothing was rescored."
    return said, warnings
