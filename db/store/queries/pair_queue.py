"""The review queue grouped by entity pair: one item per (document, head, tail) with its candidate relations
ranked inside, pairs ordered by their best probability. Suggestions below the dataset's minimum probability form
the long tail, grouped the same way: a pair whose strong relations are queued keeps its weak ones in the tail.

Grouping is a view over the same suggestions and filters as `queries.suggestions`; decisions stay one review
per suggestion (`decide_pair` writes one per relation decided), so state, agreement and export are unchanged."""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import Session

from .. import models as m
from ..domain import MISSING, VERIFY, PairItem, PairPage
from ..errors import NotFoundError, ReviewError
from ..filters import check_choice, check_filters, check_paging
from .learning import review_settings
from .reviews import record_review
from .suggestions import SUGGESTION_FILTERS, filtered_suggestions, suggestion_views

logger = logging.getLogger(__name__)

PARTS = ("queue", "tail", "all")  # suggestions at or above the minimum, those below it, or both


def _in_part(part: str, minimum: float) -> Any:
    """The condition on a suggestion's score that puts it in `part`."""
    score = m.SuggestionRow.score
    return {"queue": score >= minimum, "tail": score < minimum, "all": true()}[part]


def list_pairs(session: Session, dataset_id: int, filters: Mapping[str, Any] | None = None, *, part: str = "queue",
               min_probability: float | None = None, limit: int = 20, offset: int = 0) -> PairPage:
    """One page of the grouped queue. `filters` are list_suggestions' (a pair is listed when some of its
    suggestions match, and shows those); `part` picks the queue (suggestions with probability >= the minimum),
    the long tail (below it) or all; `min_probability` defaults to the dataset's review setting. `queued` and
    `long_tail` count the pairs in each part."""
    given = check_filters(filters, SUGGESTION_FILTERS, what="suggestion")
    check_choice("part", part, PARTS)
    check_paging(limit, offset)
    minimum = review_settings(session, dataset_id).min_probability if min_probability is None else min_probability

    def grouped(which: str) -> Any:
        matching = filtered_suggestions(dataset_id, given).where(_in_part(which, minimum)).subquery()
        return (select(matching.c.document_id, matching.c.h, matching.c.t, func.max(matching.c.score).label("best"),
                       func.min(matching.c.id).label("first"))
                .group_by(matching.c.document_id, matching.c.h, matching.c.t).subquery())

    queued, tail = (session.scalar(select(func.count()).select_from(grouped(which))) or 0
                    for which in ("queue", "tail"))
    pairs = grouped(part)
    keys = session.execute(select(pairs.c.document_id, pairs.c.h, pairs.c.t)
                           .order_by(pairs.c.best.desc(), pairs.c.first).limit(limit).offset(offset)).all()
    items = pair_items(session, dataset_id, given, [tuple(k) for k in keys], minimum, part)
    total = session.scalar(select(func.count()).select_from(pairs)) if part == "all" else (queued if part == "queue"
                                                                                             else tail)
    return PairPage(tuple(items), int(total or 0), int(queued), int(tail), minimum, limit, offset)


def pair_items(session: Session, dataset_id: int, given: Mapping[str, Any], keys: list[tuple[int, int, int]],
               minimum: float, part: str = "all") -> list[PairItem]:
    """The items of these (document id, head, tail) pairs, in this order, with their suggestions that match
    and lie in `part`."""
    if not keys:
        return []
    query = filtered_suggestions(dataset_id, given).where(_in_part(part, minimum)).where(or_(*(
        and_(m.SuggestionRow.document_id == d, m.SuggestionRow.h == h, m.SuggestionRow.t == t) for d, h, t in keys)))
    rows = session.execute(query.order_by(m.SuggestionRow.score.desc(), m.SuggestionRow.id)).all()
    grouped: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    for view in suggestion_views(session, dataset_id, rows):
        grouped[(view.document_id, view.h, view.t)].append(view)
    labelled = dict(session.execute(select(m.DocumentRow.id, m.DocumentRow.has_labels)
                                    .where(m.DocumentRow.id.in_({d for d, _, _ in keys}))).tuples().all())
    items = []
    for key in keys:
        views = grouped.get(key)
        if not views:  # decided between the two queries
            continue
        first = views[0]
        items.append(PairItem(first.document_id, first.document_title, first.h, first.t, first.head_name,
                              first.tail_name, first.score, MISSING if labelled.get(key[0]) else VERIFY,
                              first.score < minimum, tuple(views)))
    return items


def get_pair(session: Session, dataset_id: int, document_id: int, h: int, t: int,
             filters: Mapping[str, Any] | None = None, *, part: str = "all") -> PairItem:
    """One pair's item: its suggestions matching `filters` (all by default) in `part` (all by default)."""
    given = check_filters(filters, SUGGESTION_FILTERS, what="suggestion")
    check_choice("part", part, PARTS)
    found = pair_items(session, dataset_id, given, [(document_id, h, t)],
                       review_settings(session, dataset_id).min_probability, part)
    if not found:
        raise NotFoundError(f"no suggestion on pair {h} -> {t} of document {document_id} in dataset {dataset_id}")
    return found[0]


def decide_pair(session: Session, item: PairItem, annotator: str, *, accept: Mapping[int, str | None] | None = None,
                skip: bool = False, note: str | None = None) -> list[int]:
    """One decision on a pair: the suggestions in `accept` (suggestion id -> a corrected relation, or None for
    as suggested) are accepted, every other relation of the item rejected; `skip` skips them all instead.
    Writes one review per relation (who, when), in the caller's transaction, so a refused one (a duplicate
    label) records none. Returns the review ids in the item's order."""
    accept = dict(accept or {})
    ids = [view.id for view in item.relations]
    unknown = sorted(set(accept) - set(ids))
    if unknown:
        raise ReviewError(f"suggestions {unknown} are not relations of the pair {item.head_name} -> "
                          f"{item.tail_name}; decide only the relations the item shows")
    if skip and accept:
        raise ReviewError("skip leaves the whole pair for later; do not accept relations with it")
    by_relation = {view.relation: view.id for view in item.relations}
    for sid, relation in list(accept.items()):  # a correction to a relation the item lists accepts that one
        if relation is not None and relation in by_relation and by_relation[relation] != sid:
            del accept[sid]
            accept[by_relation[relation]] = None
    chosen = [accept[sid] or view.relation for view in item.relations for sid in [view.id] if sid in accept]
    doubled = sorted({r for r in chosen if chosen.count(r) > 1})
    if doubled:
        raise ReviewError(f"relation {', '.join(doubled)} chosen twice for one pair; accept it once")
    reviews = []
    for view in item.relations:
        if skip:
            decision, relation = "skip", None
        elif view.id in accept:
            decision, relation = "accept", accept[view.id]
        else:
            decision, relation = "reject", None
        reviews.append(record_review(session, view.id, annotator, decision, relation=relation, note=note))
    logger.info("%s decided pair %d -> %d of document %d: %d relation(s), %d accepted", annotator, item.h, item.t,
                item.document_id, len(reviews), 0 if skip else len(accept))
    return reviews
