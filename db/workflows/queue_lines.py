"""The pending review queue as plain records, one entity pair each, for `python -m db queue` and scripts:
what the grouped Review page shows, with probabilities rounded to what a person can read."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.orm import Session

from engine.data.schema import default_schema

from .. import store
from ..store.domain import PairItem

DIGITS = 4  # a calibrated probability to 4 places: 0.66 prints as 0.66, never 0.6600000262260437
BATCH = 500


def pair_record(item: PairItem, names: Mapping[str, str], minimum: float) -> dict[str, Any]:
    """One pair as a JSON-ready dict: document, head and tail (index and name), its best probability, whether it
    sits wholly in the long tail, the mode (missing: suspected missing labels; verify: predictions on an
    unlabelled document) and its relations best first, each marked when below the minimum."""
    return {"document_id": item.document_id, "document": item.document_title, "mode": item.mode,
            "head": {"index": item.h, "name": item.head_name}, "tail": {"index": item.t, "name": item.tail_name},
            "probability": round(item.best_score, DIGITS), "long_tail": item.long_tail,
            "relations": [{"suggestion_id": v.id, "relation": v.relation, "name": names.get(v.relation, v.relation),
                           "probability": round(v.score, DIGITS), "state": v.state, "long_tail": v.score < minimum}
                          for v in item.relations]}


def pending_pairs(session: Session, dataset_id: int, *, include_tail: bool = False) -> Iterator[dict[str, Any]]:
    """The dataset's undecided pairs (pending or skipped relations), best first: the queue's relations, or with
    `include_tail` every relation, the long tail's included (each pair once)."""
    names = default_schema().names
    offset = 0
    while True:
        page = store.list_pairs(session, dataset_id, {"undecided": True}, part="all" if include_tail else "queue",
                                limit=BATCH, offset=offset)
        for item in page.items:
            yield pair_record(item, names, page.min_probability)
        offset += BATCH
        if offset >= page.total:
            break
