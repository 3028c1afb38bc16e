"""Calibrated, comparable probabilities: Platt scaling of each relation's margin over the learned threshold.

Methods put their margins on different scales (P3M's are bounded by its cosine scale, PEMSCL's entropy term
stretches its own), so a raw sigmoid(margin) means something else for each model. Every checkpoint carries
a `MarginCalibration` fitted on its dev documents: p = sigmoid(slope * margin + intercept), one pair of
numbers per model, optionally refined by one pair per relation-frequency band (`fit_banded_calibration`: rare
relations' margins sit on another scale than frequent ones'). Pure NumPy, so the checkpoint, the predictor,
ensembles and the review ranker all read it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from engine.errors import InputFileError

ECE_BINS = 15


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def _platt_numbers(data: Mapping[str, Any], where: str) -> tuple[float, float]:
    """A stored (slope, intercept), checked: a non-positive slope would reverse the model's ordering."""
    try:
        slope, intercept = float(data["slope"]), float(data["intercept"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputFileError(f"{where}: expected numbers 'slope' and 'intercept', got {data!r}") from exc
    if not (np.isfinite(slope) and np.isfinite(intercept)) or slope <= 0:
        raise InputFileError(f"{where}: slope must be a positive finite number and intercept finite, got {data!r}")
    return slope, intercept


@dataclass(frozen=True)
class BandCalibration:
    """The Platt pair of one relation-frequency band (head, mid or tail of the training counts)."""

    name: str
    relations: tuple[str, ...]
    slope: float
    intercept: float
    n_fitted: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "relations": list(self.relations), "slope": self.slope,
                "intercept": self.intercept, "n_fitted": self.n_fitted}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str) -> "BandCalibration":
        if not isinstance(data, Mapping) or not isinstance(data.get("relations"), list):
            raise InputFileError(f"{where}: expected an object with 'name', 'relations' (a list), 'slope' and "
                                 f"'intercept', got {data!r}")
        slope, intercept = _platt_numbers(data, where)
        return cls(str(data.get("name", "")), tuple(str(r) for r in data["relations"]), slope, intercept,
                   int(data.get("n_fitted", 0)))


@dataclass(frozen=True)
class MarginCalibration:
    """p = sigmoid(slope * margin + intercept); the identity calibration is slope 1, intercept 0. A relation
    in one of `bands` uses its band's pair instead (when the caller says which relation each column is)."""

    slope: float = 1.0
    intercept: float = 0.0
    n_fitted: int = 0  # (pair, relation) items it was fitted on; 0 = not fitted
    bands: tuple[BandCalibration, ...] = ()

    def probabilities(self, margins: np.ndarray, relation_ids: Sequence[str] | None = None) -> np.ndarray:
        """margins: (..., R); relation_ids: the R columns' relation ids, needed for the band pairs (without
        them every column uses the model-wide pair)."""
        slope = np.full(margins.shape[-1:], self.slope) if margins.ndim else np.asarray(self.slope)
        intercept = np.full(margins.shape[-1:], self.intercept) if margins.ndim else np.asarray(self.intercept)
        if self.bands and relation_ids is not None and margins.ndim:
            column = {r: i for i, r in enumerate(relation_ids)}
            for band in self.bands:
                cols = [column[r] for r in band.relations if r in column]
                slope[cols], intercept[cols] = band.slope, band.intercept
        return sigmoid(slope * margins + intercept).astype(np.float32)

    @property
    def decision_probability(self) -> float:
        """The calibrated probability at margin 0, where the model's own decode rule switches."""
        return float(sigmoid(np.array(self.intercept)))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"slope": self.slope, "intercept": self.intercept, "n_fitted": self.n_fitted}
        if self.bands:
            out["bands"] = [band.to_json() for band in self.bands]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None, where: str = "calibration") -> "MarginCalibration":
        if data is None:
            return cls()
        slope, intercept = _platt_numbers(data, where)
        raw_bands = data.get("bands") or []
        if not isinstance(raw_bands, list):
            raise InputFileError(f"{where}: 'bands' must be a list, got {type(raw_bands).__name__}")
        bands = tuple(BandCalibration.from_json(b, f"{where} bands[{i}]") for i, b in enumerate(raw_bands))
        return cls(slope, intercept, int(data.get("n_fitted", 0)), bands)


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


def fit_banded_calibration(margins: np.ndarray, labels: np.ndarray, relations: np.ndarray,
                           groups: Mapping[str, Sequence[str]], *, min_positives: int = 30) -> MarginCalibration:
    """The model-wide Platt pair plus one pair per frequency band (`engine.data.metrics.frequency_groups`).

    relations: (n,) the relation id of each flattened item (`item_relations`). A band with fewer than
    `min_positives` related items keeps the model-wide pair (our choice: two parameters fitted on a handful of
    positives would be noise; 30 keeps each band's slope within a few percent on the held-out documents)."""
    overall = fit_calibration(margins, labels)
    rel = np.asarray(relations).ravel()
    y = np.asarray(labels).ravel()
    bands = []
    for name, members in groups.items():
        chosen = np.isin(rel, list(members))
        if y[chosen].sum() < min_positives or y[chosen].sum() == chosen.sum():
            continue
        band = fit_calibration(np.asarray(margins).ravel()[chosen], y[chosen])
        bands.append(BandCalibration(name, tuple(members), band.slope, band.intercept, band.n_fitted))
    return MarginCalibration(overall.slope, overall.intercept, overall.n_fitted, tuple(bands))


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


def item_relations(scores) -> np.ndarray:
    """The relation id of every item `scored_items` returns, in the same (row-major) order."""
    parts = [np.tile(np.asarray(ps.relation_ids, dtype=object), int(ps.scored_rows().sum())) for ps in scores]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=object)


def item_probabilities(scores) -> np.ndarray:
    """The calibrated probability of every item `scored_items` returns, in the same order."""
    parts = [ps.calibrated_probabilities()[ps.scored_rows()].ravel() for ps in scores]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def scored_items(documents, scores) -> tuple[np.ndarray, np.ndarray]:
    """Every (pair, relation) of labelled documents as flat (margins, 0/1 gold) arrays, for fitting and ECE.
    documents: Sequence[Document] with labels; scores: their PairScores in the same order. Pairs a method did
    not score (PAEE's restriction) are left out: their fill margin says nothing about how margins map to
    probabilities, and fitted with them (a quarter of the gold triples among 3.6 million items at -30) the
    restricted default's cross-fitted ECE went from 2.0% to 7.2%."""
    margins, labels = [], []
    for doc, ps in zip(documents, scores):
        gold = np.zeros(ps.margins.shape, dtype=np.float32)  # (n_pairs, R)
        col = {r: i for i, r in enumerate(ps.relation_ids)}
        for fact in doc.facts or ():
            if fact.r in col and fact.h != fact.t and max(fact.h, fact.t) < doc.num_entities:
                gold[ps.pair(fact.h, fact.t), col[fact.r]] = 1.0
        scored = ps.scored_rows()
        margins.append(ps.margins[scored].ravel())
        labels.append(gold[scored].ravel())
    if not margins:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    return np.concatenate(margins), np.concatenate(labels)
