"""Probability calibration for the review ranker: isotonic regression (pool adjacent violators) fitted on
out-of-fold scores, and the expected calibration error that checks it.

Why isotonic: the ranker's raw scores are monotone in the truth but not probabilities (trees trained on
down-sampled negatives, with decisions up-weighted), and isotonic regression maps them onto observed
frequencies without assuming a sigmoid shape. Pure NumPy, so it saves as two lists of numbers."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class IsotonicCalibrator:
    """A non-decreasing step map from raw score to probability, linear between block centres."""

    x: tuple[float, ...]  # raw scores (block centres), increasing
    y: tuple[float, ...]  # calibrated probabilities, non-decreasing

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        if not self.x:
            return np.full(np.shape(scores), 0.0)
        return np.interp(np.asarray(scores, dtype=np.float64), self.x, self.y)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "isotonic", "x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "IsotonicCalibrator":
        return cls(tuple(float(v) for v in d["x"]), tuple(float(v) for v in d["y"]))


def fit_isotonic(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None,
                 max_points: int = 200) -> IsotonicCalibrator:
    """Weighted isotonic regression of labels (0/1) on scores by pool adjacent violators.

    Blocks are merged further, neighbours first, until at most `max_points` remain, so the saved map stays
    small; each block is represented by its weighted mean score and mean label."""
    order = np.argsort(scores, kind="stable")
    s = np.asarray(scores, dtype=np.float64)[order]
    y = np.asarray(labels, dtype=np.float64)[order]
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)[order]
    # blocks as stacks of (weight, weighted label sum, weighted score sum)
    bw: list[float] = []
    by: list[float] = []
    bs: list[float] = []
    for wi, yi, si in zip(w.tolist(), y.tolist(), s.tolist()):
        bw.append(wi)
        by.append(wi * yi)
        bs.append(wi * si)
        while len(bw) > 1 and by[-2] / bw[-2] >= by[-1] / bw[-1]:
            wl, yl, sl = bw.pop(), by.pop(), bs.pop()
            bw[-1] += wl
            by[-1] += yl
            bs[-1] += sl
    while len(bw) > max_points:  # merge the pair of neighbours with the least weight together
        i = int(np.argmin(np.array(bw[:-1]) + np.array(bw[1:])))
        bw[i:i + 2] = [bw[i] + bw[i + 1]]
        by[i:i + 2] = [by[i] + by[i + 1]]
        bs[i:i + 2] = [bs[i] + bs[i + 1]]
    xs = [b / a for a, b in zip(bw, bs)]
    # one pseudo-observation of the overall rate per block keeps the end blocks off exactly 0 and 1 (a
    # handful of rows above the top score is no proof of certainty); the running max keeps it monotone
    prior = float(by_total / w_total) if (w_total := sum(bw)) > 0 and (by_total := sum(by)) >= 0 else 0.0
    ys = np.maximum.accumulate([(b + prior) / (a + 1.0) for a, b in zip(bw, by)]).tolist()
    return IsotonicCalibrator(tuple(xs), tuple(ys))


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of a reliability table: predicted range, count, mean predicted and observed frequency."""

    low: float
    high: float
    count: int
    mean_predicted: float
    observed: float


def reliability_table(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> list[ReliabilityBin]:
    """Equal-width bins over [0, 1]; empty bins are left out."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        sel = which == b
        if sel.any():
            out.append(ReliabilityBin(float(edges[b]), float(edges[b + 1]), int(sel.sum()), float(p[sel].mean()),
                                      float(y[sel].mean())))
    return out


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Count-weighted mean |predicted - observed| over the reliability table's bins."""
    table: Sequence[ReliabilityBin] = reliability_table(probabilities, labels, bins)
    n = sum(b.count for b in table)
    return float(sum(b.count * abs(b.mean_predicted - b.observed) for b in table) / max(n, 1))
