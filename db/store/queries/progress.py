"""Per-annotator progress on a dataset: how many items each person decided, and how fast."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import models as m
from ..clock import as_utc
from ..review_state import current_decisions


@dataclass(frozen=True)
class AnnotatorProgress:
    """One annotator's current (not undone) decisions on a dataset's suggestions."""

    annotator: str
    decided: int  # suggestions with a current accept, reject or skip of theirs
    accepted: int
    rejected: int
    skipped: int
    first_at: datetime | None
    last_at: datetime | None

    @property
    def items_per_hour(self) -> float | None:
        """Decisions per hour between their first and last decision; None below two decisions or one minute."""
        if self.decided < 2 or self.first_at is None or self.last_at is None:
            return None
        hours = (self.last_at - self.first_at).total_seconds() / 3600
        return self.decided / hours if hours >= 1 / 60 else None


def annotator_progress(session: Session, dataset_id: int) -> list[AnnotatorProgress]:
    """Everyone who decided something in the dataset, most decisions first."""
    cur = current_decisions()
    review = m.ReviewRow
    rows = session.execute(
        select(m.AnnotatorRow.name, cur.c.decision, func.count(), func.min(review.created_at),
               func.max(review.created_at))
        .select_from(cur).join(m.AnnotatorRow, m.AnnotatorRow.id == cur.c.annotator_id)
        .join(review, review.id == cur.c.id)
        .join(m.SuggestionRow, m.SuggestionRow.id == cur.c.suggestion_id).join(m.DocumentRow)
        .where(m.DocumentRow.dataset_id == dataset_id).group_by(m.AnnotatorRow.name, cur.c.decision))
    tally: dict[str, dict] = {}
    for name, decision, n, first, last in rows:
        t = tally.setdefault(name, {"accept": 0, "reject": 0, "skip": 0, "first": None, "last": None})
        t[decision] = n
        first, last = as_utc(first), as_utc(last)
        t["first"] = first if t["first"] is None else min(t["first"], first)
        t["last"] = last if t["last"] is None else max(t["last"], last)
    out = [AnnotatorProgress(name, t["accept"] + t["reject"] + t["skip"], t["accept"], t["reject"], t["skip"],
                             t["first"], t["last"]) for name, t in tally.items()]
    return sorted(out, key=lambda p: (-p.decided, p.annotator))
