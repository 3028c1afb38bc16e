"""Calibrated, comparable probabilities: Platt scaling of each relation's margin over the learned threshold.

Methods put their margins on different scales (P3M's are bounded by its cosine scale, PEMSCL's entropy term
stretches its own), so a raw sigmoid(margin) means something else for each model. Every checkpoint carries
a `MarginCalibration` fitted on its dev documents: p = sigmoid(slope * margin + intercept), one pair of
numbers per model (a second pair per relation-frequency band would be the next refinement). Pure NumPy, so
the checkpoint, the predictor, ensembles and the review ranker all read it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from engine.errors import InputFileError

ECE_BINS = 15


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


@dataclass(frozen=True)
class MarginCalibration:
    """p = sigmoid(slope * margin + intercept); the identity calibration is slope 1, intercept 0."""

    slope: float = 1.0
    intercept: float = 0.0
    n_fitted: int = 0  # (pair, relation) items it was fitted on; 0 = not fitted

    def probabilities(self, margins: np.ndarray) -> np.ndarray:
        return sigmoid(self.slope * margins + self.intercept).astype(np.float32)

    @property
    def decision_probability(self) -> float:
        """The calibrated probability at margin 0, where the model's own decode rule switches."""
        return float(sigmoid(np.array(self.intercept)))

    def to_json(self) -> dict[str, Any]:
        return {"slope": self.slope, "intercept": self.intercept, "n_fitted": self.n_fitted}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None, where: str = "calibration") -> "MarginCalibration":
        if data is None:
            return cls()
        try:
            slope, intercept = float(data["slope"]), float(data["intercept"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputFileError(f"{where}: expected numbers 'slope' and 'intercept', got {data!r}") from exc
        if not (np.isfinite(slope) and np.isfinite(intercept)) or slope <= 0:
            raise InputFileError(f"{where}: slope must be a positive finite number and intercept finite, got {data!r}")
        return cls(slope, intercept, int(data.get("n_fitted", 0)))


def fit_calibration(margins: np.ndarray, labels: np.ndarray, *, iterations: int = 50) -> MarginCalibration:
    """Platt scaling by damped Newton steps on the mean binary cross-entropy (two parameters, convex).

    margins, labels: (n,) flattened (pair, relation) margins and 0/1 gold. Platt's target smoothing
    ((n+ + 1) / (n+ + 2), 1 / (n- + 2)) keeps the fit finite when the classes separate perfectly."""
    m = np.asarray(margins, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if m.size == 0 or y.sum() == 0 or y.sum() == y.size:
        raise InputFileError("calibration needs labelled documents with both related and unrelated "
                             "(pair, relation) items")
    n_pos, n_neg = y.sum(), y.size - y.sum()
    target = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    def loss(a: float, b: float) -> float:  # mean cross-entropy against the smoothed targets
        z = a * m + b
        return float(np.mean(np.logaddexp(0.0, z) - target * z))

    a, b = 1.0, 0.0
    current = loss(a, b)
    for _ in range(iterations):
        p = sigmoid(a * m + b)
        grad = np.array([np.mean((p - target) * m), np.mean(p - target)])
        w = p * (1 - p)
        hess = np.array([[np.mean(w * m * m), np.mean(w * m)], [np.mean(w * m), np.mean(w)]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        scale = 1.0  # backtracking: a full Newton step can overshoot far from the optimum
        while scale > 1e-6 and loss(a - scale * step[0], b - scale * step[1]) > current:
            scale /= 2
        a, b = a - scale * step[0], b - scale * step[1]
        previous, current = current, loss(a, b)
        if previous - current < 1e-12:
            break
    if a <= 0:  # margins anti-correlated with the labels: an untrained model; keep the ordering
        a = 1e-3
    return MarginCalibration(float(a), float(b), int(m.size))


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE: the mean |accuracy - confidence| over equal-width probability bins, weighted by bin size."""
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if p.size == 0:
        return 0.0
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            total += sel.sum() / p.size * abs(y[sel].mean() - p[sel].mean())
    return float(total)


def reliability_table(probabilities: np.ndarray, labels: np.ndarray,
                      bins: int = 10) -> list[tuple[float, float, float, int]]:
    """Per non-empty bin: (low edge, mean probability, share related, count), for printing."""
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return [(b / bins, float(p[idx == b].mean()), float(y[idx == b].mean()), int((idx == b).sum()))
            for b in range(bins) if (idx == b).any()]


def scored_items(documents, scores) -> tuple[np.ndarray, np.ndarray]:
    """Every (pair, relation) of labelled documents as flat (margins, 0/1 gold) arrays, for fitting and ECE.
    documents: Sequence[Document] with labels; scores: their PairScores in the same order."""
    margins, labels = [], []
    for doc, ps in zip(documents, scores):
        gold = np.zeros(ps.margins.shape, dtype=np.float32)  # (n_pairs, R)
        col = {r: i for i, r in enumerate(ps.relation_ids)}
        for fact in doc.facts or ():
            if fact.r in col and fact.h != fact.t and max(fact.h, fact.t) < doc.num_entities:
                gold[ps.pair(fact.h, fact.t), col[fact.r]] = 1.0
        margins.append(ps.margins.ravel())
        labels.append(gold.ravel())
    if not margins:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    return np.concatenate(margins), np.concatenate(labels)
