"""Control items on the Evaluate page: the dataset's setting (the share of the queue, the documents vouched
fully labelled) and each annotator's recall and precision on them (db.store.queries.controls says what they count)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from db import store
from db.store.queries.controls import MAX_RATE
from db.workflows import controls as control_items

from .resources import session
from .team import require_curator

MIN_CONTROL_ITEMS = 10  # below this many controls judged, an annotator's figures are shown with a warning
__all__ = ["MAX_RATE", "MIN_CONTROL_ITEMS", "configure", "counts", "few", "score_rows", "scores",
           "settings"]


def settings(dataset_id: int) -> store.ControlSettings:
    with session() as s:
        return store.control_settings(s, dataset_id)


def configure(dataset_id: int, rate: float, fully_labelled: Sequence[int] | None, by: str) -> control_items.ControlSync:
    """Save the rate and the documents vouched fully labelled (None: every labelled one), then bring the queue's
    controls in step. Team mode checks the stored role, not the page's: only a curator may."""
    with session() as s:
        require_curator(s, by, "set control items")
        store.set_control_rate(s, dataset_id, rate, by)
        store.set_fully_labelled(s, dataset_id, fully_labelled, by)
        return control_items.sync_controls(s, dataset_id)


def counts(dataset_id: int) -> dict[str, int]:
    """Controls in the queue per kind ("gold", "absent")."""
    with session() as s:
        return store.control_counts(s, dataset_id)


def scores(dataset_id: int) -> list[store.ControlScore]:
    with session() as s:
        return store.control_scores(s, dataset_id)


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def score_rows(found: Sequence[store.ControlScore]) -> list[dict[str, Any]]:
    """One table row per annotator: recall and precision on controls, with the counts behind them."""
    return [{"annotator": c.annotator, "recall on controls": _share(c.recall),
             "gold accepted": c.gold_accepted, "gold judged": c.gold_judged,
             "precision on controls": _share(c.precision), "controls accepted": c.accepted,
             "absent rejected": c.absent_rejected, "absent judged": c.absent_judged, "skipped": c.skipped}
            for c in found]


def few(found: Sequence[store.ControlScore]) -> list[store.ControlScore]:
    """Annotators whose figures rest on fewer than MIN_CONTROL_ITEMS judged controls."""
    return [c for c in found if c.judged < MIN_CONTROL_ITEMS]
