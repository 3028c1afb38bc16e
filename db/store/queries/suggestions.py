"""Suggestions (suspected missing triples) and the review queue's listing, with each item's derived state."""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import exists, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from engine.data.support import Support, SupportError, stored_support

from .. import models as m
from ..clock import as_utc, utc_now
from ..domain import PENDING, SKIPPED, STATES, DecisionView, SourceView, SuggestionPage, SuggestionView
from ..errors import NotFoundError
from ..filters import check_choice, check_filters, check_paging
from ..review_state import suggestion_states
from .controls import control_ids

logger = logging.getLogger(__name__)

SUGGESTION_FILTERS = ("relation", "document", "run", "method", "state", "reviewed_by", "unreviewed_by", "min_score",
                      "disputed", "assigned_to", "search", "control", "undecided")
_ITEM_KEYS = {"doc_id", "h_idx", "t_idx", "relation", "r", "score", "evidence", "title"}



IN_CHUNK = 10_000  # ids per IN (...) query: PostgreSQL's protocol caps parameters at 65,535

def _parse_item(item: Mapping[str, Any], index: int) -> tuple[int, int, int, str, float, dict[str, Any]]:
    unknown = sorted(set(item) - _ITEM_KEYS)
    relation = item.get("relation", item.get("r"))
    missing = [k for k in ("doc_id", "h_idx", "t_idx", "score") if k not in item] + ([] if relation else ["relation"])
    if unknown or missing:
        raise ValueError(f"suggestion {index}: expected keys doc_id, h_idx, t_idx, relation (or r), score and "
                         f"optional evidence; missing {missing}, unknown {unknown}")
    evidence = item.get("evidence")  # the support's JSON key, as files and stored rows name it
    try:
        support = stored_support(evidence)
    except SupportError as exc:
        raise ValueError(f"suggestion {index}: evidence.{exc}") from None
    return (int(item["doc_id"]), int(item["h_idx"]), int(item["t_idx"]), str(relation), float(item["score"]),
            {} if support is None else support.to_json())


def add_suggestions(session: Session, dataset_id: int, items: Iterable[Mapping[str, Any]], *,
                    run_ids: Sequence[int]) -> list[int]:
    """Store ranked suggestions that `run_ids` (the runs whose scores were combined) produced; returns their ids
    in item order.

    A triple suggested before gets these runs added as sources and keeps its best score; a run suggesting the
    same triple again replaces its score and evidence. Bulk statements, so thousands of items take one pass."""
    parsed = [_parse_item(item, i) for i, item in enumerate(items)]
    runs = set(session.scalars(select(m.ModelRunRow.id).where(m.ModelRunRow.id.in_(run_ids),
                                                           m.ModelRunRow.dataset_id == dataset_id)))
    if not run_ids or runs != set(run_ids):
        raise NotFoundError(f"runs {sorted(set(run_ids) - runs)} are not runs of dataset {dataset_id}; "
                            "pass the ids record_run() returned for this dataset")
    doc_ids = {p[0] for p in parsed}
    n_entities = dict(session.execute(
        select(m.DocumentRow.id, func.count(m.EntityRow.id)).join(m.EntityRow,
                                                                  m.EntityRow.document_id == m.DocumentRow.id)
        .where(m.DocumentRow.id.in_(doc_ids), m.DocumentRow.dataset_id == dataset_id).group_by(m.DocumentRow.id))
                      .tuples().all())
    best: dict[tuple[int, int, int, str], tuple[float, dict[str, Any]]] = {}
    for index, (doc_id, h, t, relation, score, evidence) in enumerate(parsed):
        if doc_id not in n_entities:
            raise NotFoundError(f"suggestion {index}: document {doc_id} is not in dataset {dataset_id}")
        if not (0 <= h < n_entities[doc_id] and 0 <= t < n_entities[doc_id]) or h == t:
            raise ValueError(f"suggestion {index}: head {h} and tail {t} must be two different entities of "
                             f"document {doc_id} (0..{n_entities[doc_id] - 1})")
        key = (doc_id, h, t, relation)
        if key not in best or score > best[key][0]:
            best[key] = (score, evidence)
    existing = {(d, h, t, r): (i, s) for i, d, h, t, r, s in session.execute(
        select(m.SuggestionRow.id, m.SuggestionRow.document_id, m.SuggestionRow.h, m.SuggestionRow.t,
               m.SuggestionRow.relation,
               m.SuggestionRow.score).where(m.SuggestionRow.document_id.in_(doc_ids)))}
    ids = {key: sid for key, (sid, _) in existing.items()}
    raise_score = [{"id": existing[key][0], "score": score} for key, (score, _) in best.items()
                   if key in existing and score > existing[key][1]]
    new = [key for key in best if key not in existing]
    now = utc_now()
    if new:
        statement = insert(m.SuggestionRow).returning(m.SuggestionRow.id, sort_by_parameter_order=True)
        created = session.scalars(statement, [{"document_id": d, "h": h, "t": t, "relation": r,
                                               "score": best[(d, h, t, r)][0], "created_at": now}
                                              for d, h, t, r in new])
        ids.update(zip(new, created, strict=True))
    if raise_score:
        session.execute(update(m.SuggestionRow), raise_score)
    suggestion_ids = [ids[key] for key in best]
    sources = {}
    for start in range(0, len(suggestion_ids), IN_CHUNK):  # PostgreSQL takes at most 65,535 parameters a query
        sources.update({(sid, run): source_id for source_id, sid, run in session.execute(
            select(m.SuggestionSourceRow.id, m.SuggestionSourceRow.suggestion_id, m.SuggestionSourceRow.run_id)
            .where(m.SuggestionSourceRow.suggestion_id.in_(suggestion_ids[start:start + IN_CHUNK]),
                   m.SuggestionSourceRow.run_id.in_(run_ids)))})
    rows = [(ids[key], run, score, evidence) for key, (score, evidence) in best.items() for run in run_ids]
    replace = [{"id": sources[(sid, run)], "score": score, "evidence": evidence}
               for sid, run, score, evidence in rows if (sid, run) in sources]
    add = [{"suggestion_id": sid, "run_id": run, "score": score, "evidence": evidence}
           for sid, run, score, evidence in rows if (sid, run) not in sources]
    if replace:
        session.execute(update(m.SuggestionSourceRow), replace)
    if add:
        session.execute(insert(m.SuggestionSourceRow), add)
    logger.info("dataset %d: %d suggestions (%d new) from runs %s", dataset_id, len(best), len(new), list(run_ids))
    return [ids[(d, h, t, r)] for d, h, t, r, _, _ in parsed]


def filtered_suggestions(dataset_id: int, given: Mapping[str, Any]) -> Any:
    """Select (SuggestionRow, title, state, accepted_relation) of the dataset's suggestions matching checked
    filters (see list_suggestions); the grouped queue (queries.pair_queue) groups the same selection by pair."""
    states = suggestion_states()
    query = (
        select(m.SuggestionRow, m.DocumentRow.title, states.c.state, states.c.accepted_relation)
        .join(m.DocumentRow, m.DocumentRow.id == m.SuggestionRow.document_id)
        .join(states, states.c.suggestion_id == m.SuggestionRow.id)
        .where(m.DocumentRow.dataset_id == dataset_id)
    )
    if "relation" in given:
        query = query.where(m.SuggestionRow.relation == given["relation"])
    if "document" in given:
        query = query.where(m.SuggestionRow.document_id == int(given["document"]))
    if "min_score" in given:
        query = query.where(m.SuggestionRow.score >= float(given["min_score"]))
    if "state" in given:
        query = query.where(states.c.state == check_choice("state", given["state"], STATES))
    if given.get("undecided"):  # still in the queue: nobody accepted or rejected it (pending or skipped)
        query = query.where(states.c.state.in_((PENDING, SKIPPED)))
    if "control" in given:  # control items (db.store.queries.controls) or, False, real suggestions only
        query = query.where(m.SuggestionRow.id.in_(control_ids()) if given["control"]
                            else m.SuggestionRow.id.not_in(control_ids()))
    if "disputed" in given:  # annotators disagree: open conflicts and those a curator resolved
        query = query.where(states.c.disputed.is_(True) if given["disputed"] else states.c.disputed.is_(False))
    source = select(m.SuggestionSourceRow.id).where(m.SuggestionSourceRow.suggestion_id == m.SuggestionRow.id)
    if "run" in given:
        query = query.where(source.where(m.SuggestionSourceRow.run_id == int(given["run"])).exists())
    if "method" in given:
        query = query.where(source.join(m.ModelRunRow).where(m.ModelRunRow.method == given["method"]).exists())
    if "search" in given and str(given["search"]).strip():  # a document title or a head/tail mention name
        needle = str(given["search"]).strip().lower()
        named = (select(m.MentionRow.id).join(m.EntityRow, m.EntityRow.id == m.MentionRow.entity_id)
                 .where(m.EntityRow.document_id == m.SuggestionRow.document_id,
                        or_(m.EntityRow.idx == m.SuggestionRow.h, m.EntityRow.idx == m.SuggestionRow.t),
                        func.lower(m.MentionRow.name).contains(needle, autoescape=True)).exists())
        query = query.where(or_(func.lower(m.DocumentRow.title).contains(needle, autoescape=True), named))
    if "assigned_to" in given:  # an annotator's share of a split queue
        query = query.where(select(m.AssignmentRow.id).join(m.AnnotatorRow,
                                                            m.AnnotatorRow.id == m.AssignmentRow.annotator_id)
                            .where(m.AssignmentRow.suggestion_id == m.SuggestionRow.id,
                                   m.AnnotatorRow.name == given["assigned_to"]).exists())
    undo = aliased(m.ReviewRow)
    mine = (select(m.ReviewRow.id).join(m.AnnotatorRow)
            .where(m.ReviewRow.suggestion_id == m.SuggestionRow.id, m.ReviewRow.decision != m.UNDO,
                   ~exists().where(undo.undoes_id == m.ReviewRow.id)))
    if "reviewed_by" in given:
        query = query.where(mine.where(m.AnnotatorRow.name == given["reviewed_by"]).exists())
    if "unreviewed_by" in given:
        query = query.where(~mine.where(m.AnnotatorRow.name == given["unreviewed_by"]).exists())
    return query


def list_suggestions(session: Session, dataset_id: int, filters: Mapping[str, Any] | None = None, *,
                     limit: int = 50, offset: int = 0) -> SuggestionPage:
    """One page of a dataset's suggestions, best score first. Filters: relation, document (id), run (id),
    method, state (pending/skipped/accepted/rejected/conflict), disputed (bool: annotators disagree, resolved
    or not), assigned_to (annotator name: their share of a split queue), control (bool: control items only, or
    real suggestions only; the Review queue never passes it, so controls look like any item), search (text in the
    document title or a head or tail mention name, any case), reviewed_by and unreviewed_by (annotator
    name; a skip counts as reviewed), min_score."""
    given = check_filters(filters, SUGGESTION_FILTERS, what="suggestion")
    check_paging(limit, offset)
    query = filtered_suggestions(dataset_id, given)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(m.SuggestionRow.score.desc(), m.SuggestionRow.id).limit(limit).offset(offset))
    return SuggestionPage(tuple(suggestion_views(session, dataset_id, rows.all())), total or 0, limit, offset)


def get_suggestion(session: Session, suggestion_id: int) -> SuggestionView:
    dataset_id = session.scalar(select(m.DocumentRow.dataset_id).join(m.SuggestionRow)
                                .where(m.SuggestionRow.id == suggestion_id))
    if dataset_id is None:
        raise NotFoundError(f"no suggestion with id {suggestion_id}")
    rows = session.execute(filtered_suggestions(dataset_id, {}).where(m.SuggestionRow.id == suggestion_id)).all()
    return suggestion_views(session, dataset_id, rows)[0]


def current_decisions_of(session: Session, suggestion_ids: Iterable[int]) -> dict[int, tuple[DecisionView, ...]]:
    """Each annotator's latest effective decision per suggestion, in decision order."""
    ids = list(suggestion_ids)
    undo = aliased(m.ReviewRow)
    rows = session.execute(
        select(m.ReviewRow, m.AnnotatorRow.name, m.SuggestionRow.relation).join(m.AnnotatorRow).join(m.SuggestionRow)
        .where(m.ReviewRow.suggestion_id.in_(ids), m.ReviewRow.decision != m.UNDO,
               ~exists().where(undo.undoes_id == m.ReviewRow.id))
        .order_by(m.ReviewRow.id))
    latest: dict[int, dict[str, DecisionView]] = defaultdict(dict)
    for review, name, suggested in rows:
        latest[review.suggestion_id].pop(name, None)  # re-insert so the dict keeps decision order
        latest[review.suggestion_id][name] = DecisionView(
            review.id, name, review.role, review.decision, review.relation or suggested,
            review.relation is not None, review.note, as_utc(review.created_at))
    return {sid: tuple(by_name.values()) for sid, by_name in latest.items()}


def _read_support(source: m.SuggestionSourceRow) -> Support | None:
    """A source row's support, typed; one that cannot be read (never written by this version) is shown as none
    recorded and logged, so the rest of the queue still opens."""
    try:
        return stored_support(source.evidence)
    except SupportError as exc:
        logger.warning("suggestion %d, run %d: stored support unreadable (%s); shown without it",
                       source.suggestion_id, source.run_id, exc)
        return None


def suggestion_views(session: Session, dataset_id: int, rows: Sequence[Any]) -> list[SuggestionView]:
    """Rows of `filtered_suggestions` as views, with head and tail names, sources and current decisions."""
    ids = [row[0].id for row in rows]
    pairs = {(row[0].document_id, idx) for row in rows for idx in (row[0].h, row[0].t)}
    names = {(doc, idx): name for doc, idx, name in session.execute(
        select(m.EntityRow.document_id, m.EntityRow.idx, m.MentionRow.name).join(m.MentionRow)
        .where(m.EntityRow.document_id.in_({doc for doc, _ in pairs}), m.MentionRow.idx == 0))
        if (doc, idx) in pairs}
    sources: dict[int, list[SourceView]] = defaultdict(list)
    for source, method, checkpoint in session.execute(
            select(m.SuggestionSourceRow, m.ModelRunRow.method, m.ModelRunRow.checkpoint).join(m.ModelRunRow)
            .where(m.SuggestionSourceRow.suggestion_id.in_(ids)).order_by(m.SuggestionSourceRow.run_id)):
        sources[source.suggestion_id].append(
            SourceView(source.run_id, method, checkpoint, source.score, _read_support(source)))
    decisions = current_decisions_of(session, ids)
    return [
        SuggestionView(s.id, dataset_id, s.document_id, title, s.h, s.t, names.get((s.document_id, s.h), ""),
                       names.get((s.document_id, s.t), ""), s.relation, s.score, state, accepted_relation,
                       decisions.get(s.id, ()), tuple(sources[s.id]))
        for s, title, state, accepted_relation in rows
    ]


def rescore_suggestions(session: Session, dataset_id: int,
                        scores: Mapping[tuple[int, int, int, str], float]) -> int:
    """Set the score of the dataset's suggestions named by (document id, head, tail, relation) to a re-ranked
    value, up or down (a refit's calibrated probability); unknown triples are ignored. Returns how many
    changed. Reviews are untouched: a decision made meanwhile stands."""
    if not scores:
        return 0
    rows = session.execute(
        select(m.SuggestionRow.id, m.SuggestionRow.document_id, m.SuggestionRow.h, m.SuggestionRow.t,
               m.SuggestionRow.relation,
               m.SuggestionRow.score).join(m.DocumentRow).where(m.DocumentRow.dataset_id == dataset_id))
    changed = [{"id": sid, "score": float(scores[(d, h, t, r)])} for sid, d, h, t, r, old in rows
               if (d, h, t, r) in scores and float(scores[(d, h, t, r)]) != old]
    if changed:
        session.execute(update(m.SuggestionRow), changed)
    return len(changed)


def undecided_scores(session: Session, dataset_id: int) -> list[float]:
    """Scores of the dataset's real suggestions still in the queue (pending or skipped), best first: with the
    learned ranker, calibrated probabilities that each is a missing label. Control items are left out: their
    scores are placed to blend in, not estimates of anything."""
    states = suggestion_states()
    query = (select(m.SuggestionRow.score).join(m.DocumentRow).join(states,
                                                                    states.c.suggestion_id == m.SuggestionRow.id)
             .where(m.DocumentRow.dataset_id == dataset_id, states.c.state.in_((PENDING, SKIPPED)),
                    m.SuggestionRow.id.not_in(control_ids()))
             .order_by(m.SuggestionRow.score.desc()))
    return [float(s) for s in session.scalars(query)]


def undecided_document_ids(session: Session, dataset_id: int) -> list[int]:
    """The dataset's documents (in upload order) with an item still in the queue (pending or skipped): what a
    rescore of the pending queue scores again."""
    states = suggestion_states()
    query = (select(m.DocumentRow.id).join(m.SuggestionRow, m.SuggestionRow.document_id == m.DocumentRow.id)
             .join(states, states.c.suggestion_id == m.SuggestionRow.id)
             .where(m.DocumentRow.dataset_id == dataset_id, states.c.state.in_((PENDING, SKIPPED)))
             .group_by(m.DocumentRow.id, m.DocumentRow.position).order_by(m.DocumentRow.position))
    return list(session.scalars(query))
