"""Assignments: a curator splits a dataset's open queue between annotators, by document (all of a document's
suggestions to one person, documents dealt in turn) or round-robin (suggestions dealt in queue order)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from .. import models as m
from ..clock import utc_now
from ..domain import PENDING, SKIPPED
from ..errors import NotFoundError
from ..review_state import suggestion_states

SPLIT_MODES: tuple[str, ...] = ("document", "round-robin")


def split_queue(session: Session, dataset_id: int, annotators: Sequence[str], mode: str = "document") -> dict[str, int]:
    """Assign the dataset's undecided suggestions (pending or skipped) to `annotators`, replacing the earlier
    split of those suggestions; decided ones keep theirs. Returns suggestions assigned per annotator."""
    if mode not in SPLIT_MODES:
        raise ValueError(f"split mode: expected one of {', '.join(SPLIT_MODES)}, got {mode!r}")
    names = list(dict.fromkeys(a.strip() for a in annotators if a.strip()))
    if not names:
        raise ValueError("split: name at least one annotator to share the queue")
    ids = dict(session.execute(select(m.AnnotatorRow.name, m.AnnotatorRow.id).where(m.AnnotatorRow.name.in_(names)))
               .tuples().all())
    missing = [n for n in names if n not in ids]
    if missing:
        raise NotFoundError(f"no annotator named {missing[0]!r}; they appear once they have entered their name "
                            "(local mode) or been given an account (team mode)")
    states = suggestion_states()
    rows = session.execute(
        select(m.SuggestionRow.id, m.SuggestionRow.document_id).join(states,
                                                                     states.c.suggestion_id == m.SuggestionRow.id)
        .join(m.DocumentRow).where(m.DocumentRow.dataset_id == dataset_id, states.c.state.in_((PENDING, SKIPPED)))
        .order_by(m.SuggestionRow.score.desc(), m.SuggestionRow.id)).all()
    open_ids = [sid for sid, _ in rows]
    if open_ids:
        session.execute(delete(m.AssignmentRow).where(m.AssignmentRow.suggestion_id.in_(open_ids)))
    owner: dict[int, str] = {}
    if mode == "document":
        docs = list(dict.fromkeys(doc for _, doc in sorted(rows, key=lambda r: r[1])))
        by_doc = {doc: names[k % len(names)] for k, doc in enumerate(docs)}
        owner = {sid: by_doc[doc] for sid, doc in rows}
    else:
        owner = {sid: names[k % len(names)] for k, (sid, _) in enumerate(rows)}
    now = utc_now()
    if owner:
        session.execute(insert(m.AssignmentRow), [{"suggestion_id": sid, "annotator_id": ids[name], "created_at": now}
                                               for sid, name in owner.items()])
    counts = Counter(owner.values())
    return {name: counts.get(name, 0) for name in names}


def assignment_counts(session: Session, dataset_id: int) -> dict[str, int]:
    """Suggestions assigned per annotator in the dataset (empty: the queue is not split)."""
    rows = session.execute(
        select(m.AnnotatorRow.name, m.AssignmentRow.id).join(m.AnnotatorRow,
                                                             m.AnnotatorRow.id == m.AssignmentRow.annotator_id)
        .join(m.SuggestionRow, m.SuggestionRow.id == m.AssignmentRow.suggestion_id).join(m.DocumentRow)
        .where(m.DocumentRow.dataset_id == dataset_id))
    return dict(Counter(name for name, _ in rows))
