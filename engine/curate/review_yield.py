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
    """One live (not undone) accept or reject, with the relation the queue suggested; `corrected`: an accept of
    another relation than the suggested one (a wrong suggestion on a right pair, never counted as accepted)."""

    decision: str
    suggested_relation: str
    corrected: bool = False


def accepted_shares(decided: Sequence[Decided], *, block: int = DEFAULT_BLOCK, relation: str | None = None,
                    corrected: bool = False) -> list[float]:
    """Share of each successive `block` of decisions (the last block may be shorter), oldest first, accepted as
    suggested (or, with `corrected`, accepted with a corrected relation); only decisions on `relation` when
    given. Raises ValueError on a block below 1."""
    if block < 1:
        raise ValueError(f"block must be at least 1, got {block}")
    kept = [d.decision == "accept" and d.corrected == corrected for d in decided
            if d.decision in DECIDING and (relation is None or d.suggested_relation == relation)]
    return [sum(kept[i:i + block]) / len(kept[i:i + block]) for i in range(0, len(kept), block)]


def decided_from_log(rows: Sequence[dict]) -> list[Decided]:
    """Live accepts and rejects from `db.store.queries.reviews.review_log_rows` (undone rows and undo rows dropped)."""
    return [Decided(r["decision"], r["suggested_relation"], bool(r.get("corrected")) and r["decision"] == "accept")
            for r in rows if r["decision"] in DECIDING and not r["undone"]]
