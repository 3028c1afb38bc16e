"""Control items: known-truth triples mixed into a dataset's review queue to measure each annotator.

A control is a suggestion row like any other (same fields, sources, evidence; db.workflows.controls makes them)
plus a `ControlItem` mark saying what the right answer is: "gold" (a label the upload holds: accept it, with
its relation) or "absent" (a triple a fully labelled document lacks: reject it). Off by default: with no
`ControlSetting` row the rate is 0 and nothing is mixed in.

What controls never touch: the export (db.store.queries.export skips them: a gold label stays as uploaded whatever was
decided), adjudication (never listed as conflicts, never resolved), agreement (kappa is over real items),
acceptance rates (the yield figures), the pair's labels on other items, and the review log CSV. What they do
count in: the Review page's queue and progress counts, because leaving them out there would tell them apart."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from .. import models as m
from ..clock import as_utc, utc_now
from ..errors import NotFoundError
from ..review_state import current_decisions

GOLD, ABSENT = m.CONTROL_KINDS
MAX_RATE = 0.5  # beyond half the queue, controls would be the work rather than a check on it


@dataclass(frozen=True)
class ControlSettings:
    """A dataset's control setting; `rate` 0 means off. `fully_labelled`: documents vouched complete."""

    dataset_id: int
    rate: float
    fully_labelled: tuple[int, ...]
    updated_by: str | None = None
    updated_at: datetime | None = None

    @property
    def enabled(self) -> bool:
        return self.rate > 0


@dataclass(frozen=True)
class ControlScore:
    """One annotator's current decisions on controls. Skips are no judgement and are counted apart.

    recall = gold controls accepted with their relation / gold controls accepted or rejected;
    precision = gold controls accepted with their relation / controls accepted (either kind, any relation):
    an accept of an absent triple, or of a gold pair with the wrong relation, would have added a false label."""

    annotator: str
    gold_judged: int
    gold_accepted: int  # with the gold relation
    absent_judged: int
    absent_rejected: int
    accepted: int  # controls accepted, either kind, any relation
    skipped: int

    @property
    def judged(self) -> int:
        return self.gold_judged + self.absent_judged

    @property
    def recall(self) -> float | None:
        return self.gold_accepted / self.gold_judged if self.gold_judged else None

    @property
    def precision(self) -> float | None:
        return self.gold_accepted / self.accepted if self.accepted else None


def control_ids() -> Any:
    """Select of every control's suggestion id: `m.SuggestionRow.id.not_in(control_ids())` keeps real items only."""
    return select(m.ControlItemRow.suggestion_id)


def control_kind(session: Session, suggestion_id: int) -> str | None:
    """"gold" or "absent" for a control, None for a real suggestion."""
    return session.scalar(select(m.ControlItemRow.kind).where(m.ControlItemRow.suggestion_id == suggestion_id))


def check_rate(rate: float) -> float:
    rate = float(rate)
    if not 0.0 <= rate <= MAX_RATE:
        raise ValueError(f"control rate: expected a share of the queue from 0 (off) to {MAX_RATE}, e.g. 0.05 for one "
                         f"control in 20 items; got {rate}")
    return rate


def target_count(rate: float, n_real: int) -> int:
    """Controls that make `rate` of a queue holding `n_real` real items: c / (c + n_real) = rate."""
    if rate <= 0 or n_real <= 0:
        return 0
    return round(rate * n_real / (1.0 - rate))


def _dataset_documents(session: Session, dataset_id: int) -> dict[int, bool]:
    if session.get(m.DatasetRow, dataset_id) is None:
        raise NotFoundError(f"no dataset with id {dataset_id}")
    return dict(session.execute(select(m.DocumentRow.id, m.DocumentRow.has_labels)
                                .where(m.DocumentRow.dataset_id == dataset_id)).tuples().all())


def control_settings(session: Session, dataset_id: int) -> ControlSettings:
    """The dataset's setting; rate 0 (off) when none was ever saved."""
    docs = _dataset_documents(session, dataset_id)
    full = tuple(session.scalars(select(m.FullyLabelledDocumentRow.document_id)
                                 .where(m.FullyLabelledDocumentRow.document_id.in_(docs))
                                 .order_by(m.FullyLabelledDocumentRow.document_id)))
    row = session.get(m.ControlSettingRow, dataset_id)
    if row is None:
        return ControlSettings(dataset_id, 0.0, full)
    return ControlSettings(dataset_id, row.rate, full, row.updated_by, as_utc(row.updated_at))


def set_control_rate(session: Session, dataset_id: int, rate: float, by: str) -> ControlSettings:
    """Save the share of the queue that is controls (0 turns them off); db.workflows.controls.sync_controls
    applies it."""
    rate = check_rate(rate)
    _dataset_documents(session, dataset_id)
    row = session.get(m.ControlSettingRow, dataset_id)
    if row is None:
        session.add(m.ControlSettingRow(dataset_id=dataset_id, rate=rate, updated_by=by, updated_at=utc_now()))
    else:
        row.rate, row.updated_by, row.updated_at = rate, by, utc_now()
    session.flush()
    return control_settings(session, dataset_id)


def set_fully_labelled(session: Session, dataset_id: int, document_ids: Sequence[int] | None,
                       by: str) -> tuple[int, ...]:
    """Vouch that these labelled documents' labels are complete (None: every labelled document of the dataset
    now), replacing the earlier choice; returns the ids now vouched. Per document, not a dataset flag: nobody
    vouches for documents uploaded later without having looked, so those need the setting saved again."""
    docs = _dataset_documents(session, dataset_id)
    chosen = sorted({i for i, labelled in docs.items() if labelled} if document_ids is None else set(document_ids))
    wrong = [i for i in chosen if not docs.get(i)]
    if wrong:
        raise ValueError(f"fully labelled: document {wrong[0]} is not a labelled document of dataset {dataset_id}; "
                         "only documents uploaded with labels can be vouched complete")
    session.execute(delete(m.FullyLabelledDocumentRow).where(m.FullyLabelledDocumentRow.document_id.in_(docs)))
    if chosen:
        now = utc_now()
        session.execute(insert(m.FullyLabelledDocumentRow),
                        [{"document_id": i, "marked_by": by, "created_at": now} for i in chosen])
    return tuple(chosen)


def control_counts(session: Session, dataset_id: int) -> dict[str, int]:
    """Controls in the dataset's queue, per kind (decided or not)."""
    rows = session.execute(
        select(m.ControlItemRow.kind, func.count()).join(m.SuggestionRow,
                                                         m.SuggestionRow.id == m.ControlItemRow.suggestion_id)
        .join(m.DocumentRow).where(m.DocumentRow.dataset_id == dataset_id).group_by(m.ControlItemRow.kind))
    counts = dict(rows.tuples().all())
    return {kind: counts.get(kind, 0) for kind in m.CONTROL_KINDS}


def control_scores(session: Session, dataset_id: int) -> list[ControlScore]:
    """Per annotator who decided a control of the dataset: recall and precision on controls (see ControlScore),
    from their current (latest, not undone) decisions; most controls judged first."""
    cur = current_decisions()
    rows = session.execute(
        select(m.AnnotatorRow.name, m.ControlItemRow.kind, cur.c.decision, cur.c.relation, m.SuggestionRow.relation)
        .select_from(cur).join(m.ControlItemRow, m.ControlItemRow.suggestion_id == cur.c.suggestion_id)
        .join(m.AnnotatorRow, m.AnnotatorRow.id == cur.c.annotator_id)
        .join(m.SuggestionRow, m.SuggestionRow.id == cur.c.suggestion_id).join(m.DocumentRow)
        .where(m.DocumentRow.dataset_id == dataset_id))
    tally: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for name, kind, decision, relation, suggested in rows:
        t = tally[name]
        if decision == "skip":
            t["skipped"] += 1
            continue
        t[f"{kind}_judged"] += 1
        if decision == "accept":
            t["accepted"] += 1
            t["gold_accepted"] += kind == GOLD and relation == suggested
        else:
            t["absent_rejected"] += kind == ABSENT
    out = [ControlScore(name, t["gold_judged"], t["gold_accepted"], t["absent_judged"], t["absent_rejected"],
                        t["accepted"], t["skipped"]) for name, t in tally.items()]
    return sorted(out, key=lambda s: (-s.judged, s.annotator))
