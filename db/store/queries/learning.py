"""What the review queue learns from: a dataset's current decisions as the engine reads them, the refits
made from them, and the dataset's review settings (how often to refit, when to stop)."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from .. import models as m
from ..clock import as_utc, utc_now
from ..domain import (
    DEFAULT_MIN_PROBABILITY,
    DEFAULT_OVERLAP,
    DEFAULT_REFIT_EVERY,
    DEFAULT_STOP_BELOW,
    MAX_OVERLAP,
    RefitInfo,
    ReviewSettings,
)
from ..errors import NotFoundError
from ..review_state import CURATOR, VERDICTS, current_decisions
from .controls import control_ids

logger = logging.getLogger(__name__)

MAX_REFIT_EVERY = 10_000


def _verdicts(dataset_id: int, *, ordered: bool = False) -> Any:
    """Each annotator's current accept or reject on the dataset's real suggestions (in decision order). Control
    items are left out: a gold control is a label the data already has, so teaching the ranker that it is
    a missing one would skew it, and an absent control was picked by us, not by the ranker's queue. Triples made
    by hand count as any (a free one is an accepted positive); a gold label flagged wrong counts only as a
    curator's reject (a confirmed removal: a negative), never as an unconfirmed flag or a kept label."""
    cur = current_decisions()
    flags = select(m.ManualTripleRow.suggestion_id).where(m.ManualTripleRow.kind == "flag")
    query = (select(cur.c.id, cur.c.decision, cur.c.relation, m.SuggestionRow.h, m.SuggestionRow.t,
                    m.SuggestionRow.relation.label("suggested"), m.DocumentRow.title)
             .join(m.SuggestionRow, m.SuggestionRow.id == cur.c.suggestion_id)
             .join(m.DocumentRow, m.DocumentRow.id == m.SuggestionRow.document_id)
             .where(m.DocumentRow.dataset_id == dataset_id, cur.c.decision.in_(VERDICTS),
                    m.SuggestionRow.id.not_in(control_ids()),
                    or_(m.SuggestionRow.id.not_in(flags), and_(cur.c.role == CURATOR, cur.c.decision == "reject"))))
    return query.order_by(cur.c.id) if ordered else query


def decision_items(session: Session, dataset_id: int) -> list[dict[str, Any]]:
    """The dataset's current decisions (undone ones and skips left out), oldest first, as the dicts that
    engine.curate.decisions.decisions_from_json reads: an accept with a corrected relation names it in
    "relation", which the engine counts as a reject of the suggested relation and an accept of the new one."""
    rows = session.execute(_verdicts(dataset_id, ordered=True)).all()
    return [{"title": title, "h_idx": h, "t_idx": t, "r": suggested, "decision": decision,
             **({"relation": relation} if decision == "accept" and relation != suggested else {})}
            for _, decision, relation, h, t, suggested, title in rows]


def decision_count(session: Session, dataset_id: int) -> int:
    """How many current decisions (accepts and rejects, every annotator) the dataset has."""
    return session.scalar(select(func.count()).select_from(_verdicts(dataset_id).subquery())) or 0


def _dataset(session: Session, dataset_id: int) -> None:
    if session.get(m.DatasetRow, dataset_id) is None:
        raise NotFoundError(f"no dataset with id {dataset_id}")


def review_settings(session: Session, dataset_id: int) -> ReviewSettings:
    """The dataset's review settings, or the defaults when nobody saved any."""
    row = session.get(m.ReviewSettingsRow, dataset_id)
    if row is None:
        return ReviewSettings(dataset_id)
    minimum = DEFAULT_MIN_PROBABILITY if row.min_probability is None else row.min_probability
    return ReviewSettings(dataset_id, row.refit_every, row.stop_below, minimum, row.updated_by,
                          as_utc(row.updated_at), DEFAULT_OVERLAP if row.overlap is None else row.overlap)


def set_review_settings(session: Session, dataset_id: int, *, refit_every: int | None = None,
                        stop_below: float | None = None, min_probability: float | None = None,
                        overlap: int | None = None, by: str | None = None) -> ReviewSettings:
    """Save the dataset's settings (None keeps a value as it is). Raises ValueError on a value out of range:
    refit_every 1..10000 decisions, stop_below >= 0 expected missing labels per 100 items, min_probability
    0..1 (the long tail's bound), overlap 1..10 annotators per item of a split queue."""
    _dataset(session, dataset_id)
    if refit_every is not None and not (isinstance(refit_every, int) and 1 <= refit_every <= MAX_REFIT_EVERY):
        raise ValueError(f"refit_every: expected a whole number of decisions from 1 to {MAX_REFIT_EVERY}, "
                         f"got {refit_every!r}")
    if stop_below is not None and not (isinstance(stop_below, (int, float)) and 0 <= stop_below <= 100):
        raise ValueError(f"stop_below: expected missing labels per 100 items from 0 to 100, got {stop_below!r}")
    if min_probability is not None and not (isinstance(min_probability, (int, float)) and 0 <= min_probability <= 1):
        raise ValueError(f"min_probability: expected a probability from 0 to 1, got {min_probability!r}")
    if overlap is not None and not (isinstance(overlap, int) and not isinstance(overlap, bool)
                                    and 1 <= overlap <= MAX_OVERLAP):
        raise ValueError(f"overlap: expected a whole number of annotators per item from 1 to {MAX_OVERLAP}, "
                         f"got {overlap!r}")
    row = session.get(m.ReviewSettingsRow, dataset_id)
    if row is None:
        row = m.ReviewSettingsRow(dataset_id=dataset_id, refit_every=DEFAULT_REFIT_EVERY, stop_below=DEFAULT_STOP_BELOW)
        session.add(row)
    if refit_every is not None:
        row.refit_every = refit_every
    if stop_below is not None:
        row.stop_below = float(stop_below)
    if min_probability is not None:
        row.min_probability = float(min_probability)
    if overlap is not None:
        row.overlap = overlap
    row.updated_by, row.updated_at = by, utc_now()
    session.flush()
    logger.info("dataset %d: review settings refit_every=%d stop_below=%g min_probability=%s overlap=%s (by %s)",
                dataset_id, row.refit_every, row.stop_below, row.min_probability, row.overlap, by)
    return review_settings(session, dataset_id)


def _refit(row: m.RankerRefitRow) -> RefitInfo:
    return RefitInfo(row.id, row.dataset_id, row.decisions, row.accepted, row.rescored, row.seconds,
                     as_utc(row.created_at))


def record_refit(session: Session, dataset_id: int, *, decisions: int, accepted: int, rescored: int,
                 seconds: float) -> RefitInfo:
    """Log one refit of the ranker on the dataset's decisions."""
    _dataset(session, dataset_id)
    row = m.RankerRefitRow(dataset_id=dataset_id, decisions=decisions, accepted=accepted, rescored=rescored,
                        seconds=float(seconds), created_at=utc_now())
    session.add(row)
    session.flush()
    logger.info("dataset %d: ranker refitted on %d decisions (%d accepted), %d suggestions re-scored in %.1f s",
                dataset_id, decisions, accepted, rescored, seconds)
    return _refit(row)


def list_refits(session: Session, dataset_id: int, limit: int = 20) -> list[RefitInfo]:
    """The dataset's refits, newest first."""
    rows = session.scalars(select(m.RankerRefitRow).where(m.RankerRefitRow.dataset_id == dataset_id)
                           .order_by(m.RankerRefitRow.id.desc()).limit(limit))
    return [_refit(row) for row in rows]


def latest_refit(session: Session, dataset_id: int) -> RefitInfo | None:
    found = list_refits(session, dataset_id, limit=1)
    return found[0] if found else None


def refit_due(decided: int, last: RefitInfo | None, every: int) -> bool:
    """Whether `every` decisions have been made since the last refit (or since the start)."""
    return decided - (last.decisions if last is not None else 0) >= every
