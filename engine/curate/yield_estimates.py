"""When to stop reviewing: expected yields of the pending queue from the ranker's calibrated probabilities.

With calibrated probabilities p_i, the expected number of missing labels among any set of candidates is
the sum of their p_i (linearity of expectation, no independence needed). So the queue's remaining
missing labels, the next batch's yield and the effort to reach a share of what is left are sums over the
queue in ranked order. Pure functions over arrays, so the app can call them on every rerun."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_BATCH = 100
DEFAULT_MIN_YIELD = 5.0  # stop suggesting more review when the next 100 items are expected to hold fewer


def _ranked(probabilities: np.ndarray) -> np.ndarray:
    """Probabilities best first (the order the queue shows)."""
    return np.sort(np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0))[::-1]


def expected_missing(probabilities: np.ndarray) -> float:
    """Expected number of missing labels in the whole pending queue."""
    return float(_ranked(probabilities).sum())


def expected_yield(probabilities: np.ndarray, next_n: int = DEFAULT_BATCH) -> float:
    """Expected missing labels among the next `next_n` items in ranked order."""
    return float(_ranked(probabilities)[:next_n].sum())


def yield_curve(probabilities: np.ndarray, batch: int = DEFAULT_BATCH) -> list[float]:
    """Expected missing labels in each successive batch of `batch` items (the last one may be shorter)."""
    p = _ranked(probabilities)
    return [float(p[i:i + batch].sum()) for i in range(0, len(p), batch)]


def reviews_to_find(probabilities: np.ndarray, share: float) -> int | None:
    """How many items, in ranked order, are expected to hold `share` (0..1] of the queue's missing labels;
    None when the queue is empty or holds none."""
    p = _ranked(probabilities)
    total = p.sum()
    if total <= 0 or not 0 < share <= 1:
        return None
    return int(np.searchsorted(np.cumsum(p), share * total - 1e-9) + 1)


@dataclass(frozen=True)
class QueueEstimate:
    """What the review page shows about the queue, and whether more review is worth it."""

    pending: int
    expected_missing: float
    next_n: int
    expected_next: float
    worth_continuing: bool
    reason: str


def estimate_queue(probabilities: np.ndarray, next_n: int = DEFAULT_BATCH,
                   min_yield: float = DEFAULT_MIN_YIELD) -> QueueEstimate:
    """The stopping check: keep going while the next `next_n` items are expected to hold >= `min_yield`."""
    p = _ranked(probabilities)
    nxt = float(p[:next_n].sum())
    keep = nxt >= min_yield
    reason = (f"the next {min(next_n, len(p))} items are expected to hold {nxt:.1f} missing labels "
              f"({'at least' if keep else 'fewer than'} {min_yield:g})")
    return QueueEstimate(len(p), float(p.sum()), next_n, nxt, keep, reason)


def per_document_cap_threshold(item_probabilities: Sequence[Sequence[float]], max_items: int, *,
                               step: float = 0.01) -> float:
    """The lowest threshold (a multiple of `step`) at which no document keeps more than `max_items` queue items
    with probability >= it: above every document's (max_items + 1)-th best, so the capped queue loses as little
    as any threshold that meets the cap. `item_probabilities`: one sequence per document (an item is an entity
    pair scored by its best relation). 0.0 when no document has more than `max_items`."""
    if max_items < 0 or step <= 0:
        raise ValueError(f"max_items must be >= 0 and step > 0, got {max_items} and {step}")
    worst = max((sorted(p, reverse=True)[max_items] for p in item_probabilities if len(p) > max_items), default=None)
    if worst is None:
        return 0.0
    return round((math.floor(worst / step + 1e-9) + 1) * step, 10)
