"""engine.curate.slot_views' one-sort top-k and sort-free ranks against the double stable argsort they replace."""
from __future__ import annotations

import numpy as np

from engine.curate.slot_views import stable_ranks, top_k_mask


def double_argsort_ranks(values: np.ndarray) -> np.ndarray:
    filled = np.where(np.isnan(values), -np.inf, values)
    return np.argsort(np.argsort(-filled, axis=-1, kind="stable"), axis=-1, kind="stable")


def tied_values(seed: int) -> np.ndarray:
    """(40, 7) margins with many ties, NaN and -inf."""
    rng = np.random.default_rng(seed)
    values = rng.integers(-2, 3, size=(40, 7)).astype(np.float64)
    values[rng.random(values.shape) < 0.15] = np.nan
    values[rng.random(values.shape) < 0.1] = -np.inf
    return values


def test_stable_ranks_equal_the_double_argsort_with_ties_and_nan():
    for seed in range(5):
        values = tied_values(seed)
        ranks = double_argsort_ranks(values)
        for k in range(values.shape[1]):
            ks = np.full(len(values), k)
            assert np.array_equal(stable_ranks(values, ks), ranks[:, k])


def test_top_k_mask_equals_rank_below_k():
    for seed in range(5):
        best = np.where(np.isnan(v := tied_values(seed)), -np.inf, v).reshape(4, 10, 7)
        for top_k in (-1, 0, 1, 2, 7, 9):
            assert np.array_equal(top_k_mask(best, top_k), double_argsort_ranks(best) < top_k)
