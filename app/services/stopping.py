"""How much review still pays, for Review and Evaluate: the accepted share per block of 100 reviewed (from
the review log, engine.curate.review_yield) and what the pending queue is expected to still hold (the sum of
its calibrated probabilities, engine.curate.yield_estimates) against the dataset's stopping threshold."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from db import store
from engine.curate.review_yield import DEFAULT_BLOCK, Decided, accepted_shares, decided_from_log
from engine.curate.yield_estimates import DEFAULT_BATCH, QueueEstimate, estimate_queue, yield_curve

from .resources import session

BLOCK = DEFAULT_BLOCK
NEXT_N = DEFAULT_BATCH


def decided(dataset_id: int) -> list[Decided]:
    """The dataset's live accepts and rejects, oldest first."""
    with session() as s:
        return decided_from_log(store.review_log_rows(s, dataset_id))


def shares(log: list[Decided], relation: str | None = None, *, corrected: bool = False) -> list[float]:
    """Share of each successive 100 decisions (of one suggested relation when given) accepted as suggested, or
    with `corrected` accepted with another relation."""
    return accepted_shares(log, block=BLOCK, relation=relation, corrected=corrected)


def count(log: list[Decided], relation: str | None = None) -> int:
    """How many of the decisions are on `relation` (all when None)."""
    return sum(relation is None or d.suggested_relation == relation for d in log)


def decided_relations(log: list[Decided]) -> list[str]:
    """Suggested relations with at least one decision, most decided first: the curve's relation choices."""
    counts: dict[str, int] = {}
    for d in log:
        counts[d.suggested_relation] = counts.get(d.suggested_relation, 0) + 1
    return sorted(counts, key=lambda r: (-counts[r], r))


def expected_shares(scores: list[float], blocks: int = 5) -> list[float]:
    """Expected share of missing labels in each of the next `blocks` blocks of 100 pending items, best first."""
    curve = yield_curve(np.array(scores, dtype=np.float64), batch=BLOCK)[:blocks]
    sizes = [min(BLOCK, len(scores) - i * BLOCK) for i in range(len(curve))]
    return [e / n for e, n in zip(curve, sizes)]


@dataclass(frozen=True)
class StopCheck:
    """The queue's expected yield against the dataset's threshold: `reached` means review can stop."""

    estimate: QueueEstimate
    stop_below: float
    scores: tuple[float, ...] = field(default=(), repr=False)  # the pending items' scores, best first

    @property
    def reached(self) -> bool:
        return self.estimate.pending > 0 and not self.estimate.worth_continuing

    def message(self) -> str:
        e = self.estimate
        if self.reached:
            return (f"You can stop: the next {min(e.next_n, e.pending)} items are expected to hold "
                    f"{e.expected_next:.1f} missing labels, fewer than the {self.stop_below:g} this dataset stops "
                    f"at; about {e.expected_missing:.1f} are expected in all {e.pending} pending items.")
        return (f"Worth continuing: the next {min(e.next_n, e.pending)} items are expected to hold "
                f"{e.expected_next:.1f} missing labels (this dataset stops below {self.stop_below:g}); about "
                f"{e.expected_missing:.1f} in all {e.pending} pending items.")


def stop_check(dataset_id: int, stop_below: float) -> StopCheck:
    """Expected missing labels in the pending (and skipped) items and in the next 100, against `stop_below`."""
    with session() as s:
        scores = store.undecided_scores(s, dataset_id)
    return StopCheck(estimate_queue(np.array(scores, dtype=np.float64), next_n=NEXT_N, min_yield=stop_below),
                     stop_below, tuple(scores))
