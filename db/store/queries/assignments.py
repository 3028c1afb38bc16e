"""Assignments: a curator splits a dataset's open queue between annotators, by document (all of a document's
suggestions to the same people, documents dealt in turn) or round-robin (entity pairs dealt in queue order, a
pair's relations together, as the Review page shows them). The dataset's overlap setting k sends each document
or pair to k different annotators (2 for an agreement study), dealt in rotation so shares stay even."""
from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from .. import models as m
from ..clock import utc_now
from ..domain import PENDING, SKIPPED
from ..errors import NotFoundError
from ..review_state import suggestion_states
from .learning import review_settings

SPLIT_MODES: tuple[str, ...] = ("document", "round-robin")


def deal(units: Sequence[Hashable], names: Sequence[str], overlap: int) -> dict[Hashable, list[str]]:
    """Each unit to `overlap` different people: unit i to names i*k .. i*k+k-1 (mod n), so everyone gets about
    k/n of the units and, with k = n, everyone gets all."""
    n = len(names)
    return {unit: [names[(i * overlap + j) % n] for j in range(overlap)] for i, unit in enumerate(units)}


def split_queue(session: Session, dataset_id: int, annotators: Sequence[str], mode: str = "document") -> dict[str, int]:
    """Assign the dataset's undecided suggestions (pending or skipped) to `annotators`, each to as many of them
    as the dataset's overlap asks, replacing the earlier split of those suggestions; decided ones keep theirs.
    Returns suggestions assigned per annotator."""
    if mode not in SPLIT_MODES:
        raise ValueError(f"split mode: expected one of {', '.join(SPLIT_MODES)}, got {mode!r}")
    names = list(dict.fromkeys(a.strip() for a in annotators if a.strip()))
    if not names:
        raise ValueError("split: name at least one annotator to share the queue")
    overlap = review_settings(session, dataset_id).overlap
    if overlap > len(names):
        raise ValueError(f"split: this dataset's overlap sends each item to {overlap} annotators; choose at least "
                         f"{overlap} (got {len(names)}) or lower the overlap")
    ids = dict(session.execute(select(m.AnnotatorRow.name, m.AnnotatorRow.id).where(m.AnnotatorRow.name.in_(names)))
               .tuples().all())
    missing = [n for n in names if n not in ids]
    if missing:
        raise NotFoundError(f"no annotator named {missing[0]!r}; they appear once they have entered their name "
                            "(local mode) or been given an account (team mode)")
    states = suggestion_states()
    rows = session.execute(
        select(m.SuggestionRow.id, m.SuggestionRow.document_id, m.SuggestionRow.h, m.SuggestionRow.t)
        .join(states, states.c.suggestion_id == m.SuggestionRow.id)
        .join(m.DocumentRow).where(m.DocumentRow.dataset_id == dataset_id, states.c.state.in_((PENDING, SKIPPED)))
        .order_by(m.SuggestionRow.score.desc(), m.SuggestionRow.id)).all()
    open_ids = [sid for sid, *_ in rows]
    if open_ids:
        session.execute(delete(m.AssignmentRow).where(m.AssignmentRow.suggestion_id.in_(open_ids)))
    # a unit: a document, or a pair in the order of its best suggestion (rows come best first)
    unit_of = {sid: doc if mode == "document" else (doc, h, t) for sid, doc, h, t in rows}
    units = sorted(set(unit_of.values())) if mode == "document" else list(dict.fromkeys(unit_of.values()))
    owners = deal(units, names, overlap)
    now = utc_now()
    assigned = [{"suggestion_id": sid, "annotator_id": ids[name], "created_at": now}
                for sid, unit in unit_of.items() for name in owners[unit]]
    if assigned:
        session.execute(insert(m.AssignmentRow), assigned)
    counts = Counter(name for unit in unit_of.values() for name in owners[unit])
    return {name: counts.get(name, 0) for name in names}


def assignment_counts(session: Session, dataset_id: int) -> dict[str, int]:
    """Suggestions assigned per annotator in the dataset (empty: the queue is not split)."""
    rows = session.execute(
        select(m.AnnotatorRow.name, m.AssignmentRow.id).join(m.AnnotatorRow,
                                                             m.AnnotatorRow.id == m.AssignmentRow.annotator_id)
        .join(m.SuggestionRow, m.SuggestionRow.id == m.AssignmentRow.suggestion_id).join(m.DocumentRow)
        .where(m.DocumentRow.dataset_id == dataset_id))
    return dict(Counter(name for name, _ in rows))
