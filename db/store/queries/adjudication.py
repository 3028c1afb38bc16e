"""Adjudication: a curator resolves a conflict (annotators disagree) with a final accept or reject.

The resolution is one more insert-only review row, by a curator: the annotators' decisions stay in the log
untouched (the audit trail), and db.review_state lets the curator's current verdict decide the state, which
the export follows."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import models as m
from ..errors import NotFoundError, ReviewError
from ..review_state import CURATOR, VERDICTS
from .controls import control_kind
from .reviews import record_review


def resolve_conflict(session: Session, suggestion_id: int, curator: str, decision: str, *,
                     relation: str | None = None, note: str | None = None) -> int:
    """Record a curator's final accept (optionally with a corrected relation) or reject; returns the review id."""
    role = session.scalar(select(m.AnnotatorRow.role).where(m.AnnotatorRow.name == curator))
    if role is None:
        raise NotFoundError(f"no annotator named {curator!r}")
    if role != CURATOR:
        raise ReviewError(f"{curator} is an {role}: only a curator resolves conflicts (`python -m db set-role "
                          f"{curator} --role curator` makes one)")
    if decision not in VERDICTS:
        raise ReviewError(f"a resolution is accept or reject, got {decision!r}")
    if control_kind(session, suggestion_id) is not None:  # its answer is known; disagreement there is a score
        raise ReviewError(f"suggestion {suggestion_id} is a control item: it is never adjudicated (the Evaluate "
                          "page scores each annotator's answer on it)")
    return record_review(session, suggestion_id, curator, decision, relation=relation, note=note)
