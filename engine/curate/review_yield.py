"""How much review still pays: the accepted share in each successive block of reviewed items.

The ranked queue shows its best items first, so the accepted share per block of 100 decisions should fall;
when it flattens near zero the curator can stop. Pure functions over the review log (oldest first), so
Review and Evaluate draw the same numbers and tests can check them by hand."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_BLOCK = 100
DECIDING = ("accept", "reject")  # skips and undos say nothing about whether the suggestion was right


@dataclass(frozen=True)
class Decided:
    """One live (not undone) accept or reject, with the relation the queue suggested."""

    decision: str
    suggested_relation: str


def accepted_shares(decided: Sequence[Decided], *, block: int = DEFAULT_BLOCK,
                    relation: str | None = None) -> list[float]:
    """Accepted share of each successive `block` of decisions (the last block may be shorter), oldest
    first; only decisions on `relation` when given. Raises ValueError on a block below 1."""
    if block < 1:
        raise ValueError(f"block must be at least 1, got {block}")
    kept = [d.decision == "accept" for d in decided
            if d.decision in DECIDING and (relation is None or d.suggested_relation == relation)]
    return [sum(kept[i:i + block]) / len(kept[i:i + block]) for i in range(0, len(kept), block)]


def decided_from_log(rows: Sequence[dict]) -> list[Decided]:
    """Live accepts and rejects from `db.store.queries.reviews.review_log_rows` (undone rows and undo rows dropped)."""
    return [Decided(r["decision"], r["suggested_relation"]) for r in rows
            if r["decision"] in DECIDING and not r["undone"]]
