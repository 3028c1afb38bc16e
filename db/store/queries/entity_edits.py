"""Entity editing after storing: add or remove a mention, merge two entities, split one, change a type.

Each edit is one insert-only `entity_edits` row (who, when, the vertexSet before and after: version k of a
document's entity set is edit k's `after`, version 0 the upload). The entity and mention rows and the uploaded
JSON (`documents.source`, what the export starts from) follow the latest version. What points at entities
follows too, never lost silently:
- merge (the higher index goes into the lower; later entities shift down one): gold labels and suggestions are
  re-pointed; a triple that then exists twice keeps one row (a suggestion's reviews are re-pointed onto the one
  kept, both ids in `details`). A merge that would turn a gold label or a reviewed suggestion into a self-loop
  is refused.
- split (the chosen mentions become a new last entity): labels and reviewed suggestions on the split entity
  stay where they are and are listed in `details["flagged"]` for someone to check.
Scores: each run's stored pair scores keep every pair under its new indices; pairs touching an entity in
`details["affected"]` are stale until db.workflows.entity_rescore replaces exactly those."""
from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from .. import models as m
from ..clock import as_utc, utc_now
from ..errors import NotFoundError, ReviewError
from .runs import load_pair_scores, save_pair_scores

logger = logging.getLogger(__name__)

ENTITY_TYPES: tuple[str, ...] = ("PER", "ORG", "LOC", "TIME", "NUM", "MISC")  # DocRED's
VertexSet = list[list[dict[str, Any]]]


@dataclass(frozen=True)
class EntityEdit:
    """One version of a document's entity set: the edit that made it, who and when."""

    document_id: int
    version: int
    kind: str
    annotator: str
    created_at: datetime
    details: dict[str, Any]


class EntityEditError(ReviewError):
    """An entity edit cannot be made as asked; nothing was changed."""


def entity_set(session: Session, document_id: int) -> VertexSet:
    """The document's current vertexSet as DocRED JSON (every uploaded mention key kept)."""
    doc = session.get(m.DocumentRow, document_id)
    if doc is None:
        raise NotFoundError(f"no document with id {document_id}")
    if doc.source is not None and "vertexSet" in doc.source:
        return copy.deepcopy(doc.source["vertexSet"])
    out: VertexSet = []
    for idx, name, sent_id, start, end, kind in session.execute(
            select(m.EntityRow.idx, m.MentionRow.name, m.MentionRow.sent_id, m.MentionRow.pos_start,
                   m.MentionRow.pos_end, m.MentionRow.type).join(m.MentionRow)
            .where(m.EntityRow.document_id == document_id).order_by(m.EntityRow.idx, m.MentionRow.idx)):
        while len(out) <= idx:
            out.append([])
        out[idx].append({"name": name, "sent_id": sent_id, "pos": [start, end], "type": kind})
    return out


def entity_set_at(session: Session, document_id: int, version: int) -> VertexSet:
    """The entity set at a version: 0 the upload, k after the k-th edit."""
    edits = session.scalars(select(m.EntityEditRow).where(m.EntityEditRow.document_id == document_id)
                            .order_by(m.EntityEditRow.version)).all()
    if version == 0:
        return copy.deepcopy(edits[0].before) if edits else entity_set(session, document_id)
    found = [e for e in edits if e.version == version]
    if not found:
        raise NotFoundError(f"document {document_id} has no entity version {version} (it has 0..{len(edits)})")
    return copy.deepcopy(found[0].after)


def edit_log(session: Session, document_id: int) -> list[EntityEdit]:
    """The document's entity edits, oldest first."""
    rows = session.execute(select(m.EntityEditRow, m.AnnotatorRow.name).join(m.AnnotatorRow)
                           .where(m.EntityEditRow.document_id == document_id).order_by(m.EntityEditRow.version))
    return [EntityEdit(r.document_id, r.version, r.kind, name, as_utc(r.created_at), dict(r.details))
            for r, name in rows]


def scoring_runs(session: Session, document_id: int) -> list[tuple[int, str]]:
    """(run id, checkpoint) of every run holding scores of the document: what a rescore after an edit re-runs."""
    return [tuple(r) for r in session.execute(
        select(m.ModelRunRow.id, m.ModelRunRow.checkpoint).join(m.PairScoreBlobRow)
        .where(m.PairScoreBlobRow.document_id == document_id).order_by(m.ModelRunRow.id))]


def _entity(vs: VertexSet, document_id: int, e: int) -> list[dict[str, Any]]:
    if not 0 <= e < len(vs):
        raise EntityEditError(f"document {document_id}: no entity {e} (it has 0..{len(vs) - 1})")
    return vs[e]


def _check_type(kind: str) -> str:
    if kind not in ENTITY_TYPES:
        raise EntityEditError(f"entity type: expected one of {', '.join(ENTITY_TYPES)}, got {kind!r}")
    return kind


def add_mention(session: Session, document_id: int, annotator: str, *, sent_id: int, start: int, end: int,
                entity: int | None = None, entity_type: str | None = None) -> EntityEdit:
    """Add tokens sents[sent_id][start:end] (a text selection) as a mention of `entity`, or of a new last
    entity of `entity_type` when `entity` is None."""
    sents = session.scalar(select(m.DocumentRow.sents).where(m.DocumentRow.id == document_id))
    if sents is None:
        raise NotFoundError(f"no document with id {document_id}")
    if not (0 <= sent_id < len(sents) and 0 <= start < end <= len(sents[sent_id])):
        raise EntityEditError(f"document {document_id}: sentence {sent_id} tokens {start}:{end} are not a span of "
                              "the text (a mention is one or more tokens inside one sentence)")
    vs = entity_set(session, document_id)
    taken = [i for i, ms in enumerate(vs) for x in ms if x["sent_id"] == sent_id and list(x["pos"]) == [start, end]]
    if taken:
        raise EntityEditError(f"document {document_id}: sentence {sent_id} tokens {start}:{end} are already a "
                              f"mention of entity {taken[0]}")
    name = " ".join(sents[sent_id][start:end])
    if entity is None:
        mention = {"name": name, "sent_id": sent_id, "pos": [start, end], "type": _check_type(entity_type or "MISC")}
        vs.append([mention])
        target = len(vs) - 1
    else:
        mentions = _entity(vs, document_id, entity)
        mentions.append({"name": name, "sent_id": sent_id, "pos": [start, end], "type": mentions[0]["type"]})
        target = entity
    return _commit(session, document_id, annotator, "add_mention", vs, None, {target},
                   {"entity": target, "mention": [sent_id, start, end], "name": name})


def remove_mention(session: Session, document_id: int, annotator: str, *, entity: int, mention: int) -> EntityEdit:
    """Remove mention `mention` of `entity`; an entity keeps at least one (merge it into another instead)."""
    vs = entity_set(session, document_id)
    mentions = _entity(vs, document_id, entity)
    if not 0 <= mention < len(mentions):
        raise EntityEditError(f"document {document_id}: entity {entity} has no mention {mention}")
    if len(mentions) == 1:
        raise EntityEditError(f"document {document_id}: mention {mention} is entity {entity}'s only one; an entity "
                              "needs a mention (merge it into the right entity instead)")
    gone = mentions.pop(mention)
    return _commit(session, document_id, annotator, "remove_mention", vs, None, {entity},
                   {"entity": entity, "removed": gone})


def set_type(session: Session, document_id: int, annotator: str, *, entity: int, entity_type: str) -> EntityEdit:
    """Give every mention of `entity` the type `entity_type` (spaCy's Voltaire as ORG becomes PER)."""
    vs = entity_set(session, document_id)
    mentions = _entity(vs, document_id, entity)
    old = mentions[0]["type"]
    for x in mentions:
        x["type"] = _check_type(entity_type)
    return _commit(session, document_id, annotator, "set_type", vs, None, {entity},
                   {"entity": entity, "from": old, "to": entity_type})


def split_entity(session: Session, document_id: int, annotator: str, *, entity: int,
                 mentions: Sequence[int]) -> EntityEdit:
    """Move the chosen mentions of `entity` into a new last entity (two unrelated "one"s merged by ingest).
    Labels and reviewed suggestions on `entity` stay and are flagged: only a person knows which part they meant."""
    vs = entity_set(session, document_id)
    members = _entity(vs, document_id, entity)
    chosen = sorted(set(mentions))
    if not chosen or any(not 0 <= i < len(members) for i in chosen) or len(chosen) == len(members):
        raise EntityEditError(f"document {document_id}: split entity {entity} by choosing some but not all of its "
                              f"mentions (0..{len(members) - 1}), got {list(mentions)}")
    vs[entity] = [x for i, x in enumerate(members) if i not in chosen]
    vs.append([members[i] for i in chosen])
    new = len(vs) - 1
    flagged = [{"what": "label", "h": h, "t": t, "r": r} for h, t, r in session.execute(
        select(m.GoldFactRow.h, m.GoldFactRow.t, m.GoldFactRow.relation).where(
            m.GoldFactRow.document_id == document_id, (m.GoldFactRow.h == entity) | (m.GoldFactRow.t == entity))
        .order_by(m.GoldFactRow.position))]
    flagged += [{"what": "suggestion", "id": i, "h": h, "t": t, "r": r} for i, h, t, r in session.execute(
        select(m.SuggestionRow.id, m.SuggestionRow.h, m.SuggestionRow.t, m.SuggestionRow.relation).where(
            m.SuggestionRow.document_id == document_id, (m.SuggestionRow.h == entity) | (m.SuggestionRow.t == entity),
            select(m.ReviewRow.id).where(m.ReviewRow.suggestion_id == m.SuggestionRow.id).exists())
        .order_by(m.SuggestionRow.id))]
    return _commit(session, document_id, annotator, "split", vs, None, {entity, new},
                   {"entity": entity, "new_entity": new, "moved_mentions": chosen, "flagged": flagged})


def merge_entities(session: Session, document_id: int, annotator: str, *, a: int, b: int) -> EntityEdit:
    """Merge entities a and b ("Curie" into "Marie Curie"): the higher index joins the lower, whose first
    mention (and type) stays first; entities after it shift down one, and labels and suggestions follow."""
    vs = entity_set(session, document_id)
    _entity(vs, document_id, a), _entity(vs, document_id, b)
    if a == b:
        raise EntityEditError(f"document {document_id}: merge needs two different entities, got {a} twice")
    keep, gone = min(a, b), max(a, b)
    between = [(h, t, r) for h, t, r in session.execute(
        select(m.GoldFactRow.h, m.GoldFactRow.t, m.GoldFactRow.relation).where(
            m.GoldFactRow.document_id == document_id, m.GoldFactRow.h.in_((keep, gone)),
            m.GoldFactRow.t.in_((keep, gone))))]
    reviewed = select(m.ReviewRow.id).where(m.ReviewRow.suggestion_id == m.SuggestionRow.id).exists()
    linked = session.execute(select(m.SuggestionRow.id, reviewed).where(
        m.SuggestionRow.document_id == document_id, m.SuggestionRow.h.in_((keep, gone)),
        m.SuggestionRow.t.in_((keep, gone)))).all()
    if between or any(flag for _, flag in linked):
        what = f"gold label {between[0]}" if between else f"reviewed suggestion {[i for i, f in linked if f][0]}"
        raise EntityEditError(f"document {document_id}: {what} links entities {keep} and {gone}, so they are two "
                              "entities to someone; flag or reject it first, then merge")
    vs[keep] = vs[keep] + [dict(x, type=vs[keep][0]["type"]) for x in vs[gone]]
    del vs[gone]
    index_map = [keep if i == gone else i - (i > gone) for i in range(len(vs) + 1)]
    dropped = [i for i, _ in linked]
    if dropped:
        session.execute(delete(m.SuggestionRow).where(m.SuggestionRow.id.in_(dropped)))
    details = {"kept": keep, "merged": gone, "index_map": index_map, "dropped_suggestions": dropped}
    return _commit(session, document_id, annotator, "merge", vs, index_map, {keep}, details)


def _commit(session: Session, document_id: int, annotator: str, kind: str, after: VertexSet,
            index_map: list[int] | None, affected: set[int], details: dict[str, Any]) -> EntityEdit:
    """Write the new entity set, re-point what names entities, keep the scores of pairs untouched, log it."""
    who = session.scalar(select(m.AnnotatorRow.id).where(m.AnnotatorRow.name == annotator))
    if who is None:
        raise NotFoundError(f"no annotator named {annotator!r}")
    before = entity_set(session, document_id)
    _write_entities(session, document_id, after)
    if index_map is not None:
        details.update(_repoint(session, document_id, index_map))
    _remap_scores(session, document_id, index_map, len(after))
    details["affected"] = sorted(affected)
    version = (session.scalar(select(func.max(m.EntityEditRow.version))
                              .where(m.EntityEditRow.document_id == document_id)) or 0) + 1
    row = m.EntityEditRow(document_id=document_id, version=version, kind=kind, details=details, before=before,
                          after=after, annotator_id=who, created_at=utc_now())
    session.add(row)
    session.flush()
    logger.info("document %d: entity edit %d (%s) by %s", document_id, version, kind, annotator)
    return EntityEdit(document_id, version, kind, annotator, as_utc(row.created_at), details)


def _write_entities(session: Session, document_id: int, vs: VertexSet) -> None:
    doc = session.get(m.DocumentRow, document_id)
    session.execute(delete(m.EntityRow).where(m.EntityRow.document_id == document_id))  # mentions cascade
    for idx, mentions in enumerate(vs):
        entity = m.EntityRow(document_id=document_id, idx=idx)
        session.add(entity)
        session.flush()
        session.add_all(m.MentionRow(entity_id=entity.id, idx=j, name=x["name"], sent_id=x["sent_id"],
                                     pos_start=x["pos"][0], pos_end=x["pos"][1], type=x["type"])
                        for j, x in enumerate(mentions))
    if doc is not None and doc.source is not None:
        doc.source = {**doc.source, "vertexSet": copy.deepcopy(vs)}
    session.flush()


def _repoint(session: Session, document_id: int, index_map: list[int]) -> dict[str, Any]:
    """Re-point gold labels, the uploaded labels and suggestions through `index_map` (old index -> new)."""
    out: dict[str, Any] = {"merged_labels": [], "merged_suggestions": []}
    seen: set[tuple[int, int, str]] = set()
    for fact in session.scalars(select(m.GoldFactRow).where(m.GoldFactRow.document_id == document_id)
                                .order_by(m.GoldFactRow.position)):
        key = (index_map[fact.h], index_map[fact.t], fact.relation)
        if key in seen:  # the same label on both merged entities: one is kept
            out["merged_labels"].append(list(key))
            session.delete(fact)
            continue
        seen.add(key)
        fact.h, fact.t = key[0], key[1]
    doc = session.get(m.DocumentRow, document_id)
    if doc is not None and doc.source is not None and doc.source.get("labels") is not None:
        labels, have = [], set()
        for label in doc.source["labels"]:
            moved = dict(label, h=index_map[label["h"]], t=index_map[label["t"]])
            if (moved["h"], moved["t"], moved["r"]) not in have:
                have.add((moved["h"], moved["t"], moved["r"]))
                labels.append(moved)
        doc.source = {**doc.source, "labels": labels}
    rows = session.scalars(select(m.SuggestionRow).where(m.SuggestionRow.document_id == document_id)
                           .order_by(m.SuggestionRow.h, m.SuggestionRow.t)).all()
    target: dict[tuple[int, int, str], m.SuggestionRow] = {}
    for row in rows:  # index_map never raises an index, so in (h, t) order each target is free or a true twin
        key = (index_map[row.h], index_map[row.t], row.relation)
        twin = target.get(key)
        if twin is None:
            target[key] = row
            if (row.h, row.t) != key[:2]:
                row.h, row.t = key[0], key[1]
                session.flush()
            continue
        # two suggestions of one triple: the reviews of the later one join the earlier (re-pointed, never dropped)
        session.execute(update(m.ReviewRow).where(m.ReviewRow.suggestion_id == row.id).values(suggestion_id=twin.id))
        runs = set(session.scalars(select(m.SuggestionSourceRow.run_id)
                                   .where(m.SuggestionSourceRow.suggestion_id == twin.id)))
        session.execute(update(m.SuggestionSourceRow).where(m.SuggestionSourceRow.suggestion_id == row.id,
                                                            m.SuggestionSourceRow.run_id.not_in(runs))
                        .values(suggestion_id=twin.id))
        twin.score = max(twin.score, row.score)
        out["merged_suggestions"].append([row.id, twin.id])
        session.execute(delete(m.SuggestionRow).where(m.SuggestionRow.id == row.id))
        session.flush()
    return out


def _remap_scores(session: Session, document_id: int, index_map: list[int] | None, n_entities: int) -> None:
    """Each run's scores of the document under the new indices; pairs that no longer exist are dropped."""
    if index_map is None:
        return
    lookup = np.asarray(index_map, dtype=np.int64)
    for run_id in session.scalars(select(m.PairScoreBlobRow.run_id)
                                  .where(m.PairScoreBlobRow.document_id == document_id)):
        scores = load_pair_scores(session, run_id, document_id)
        heads, tails = lookup[scores.heads], lookup[scores.tails]  # (n_pairs,)
        first = {}
        for p, pair in enumerate(zip(heads.tolist(), tails.tolist())):
            if pair[0] != pair[1] and pair not in first and max(pair) < n_entities:
                first[pair] = p
        rows = np.fromiter(first.values(), dtype=np.int64, count=len(first))
        save_pair_scores(session, run_id, document_id, scores.take(rows, heads=heads[rows], tails=tails[rows]))
