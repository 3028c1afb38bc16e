"""Fitting a checkpoint's margin calibration on labelled documents and measuring it (ECE before and after).
`python -m engine calibrate` and the end of `train` (on its dev documents) call this."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from engine.data.documents import Document
from engine.data.margin_calibration import (
    MarginCalibration,
    expected_calibration_error,
    fit_calibration,
    item_probabilities,
    scored_items,
    sigmoid,
)
from engine.data.pair_scores import PairScores
from engine.model.checkpoint import update_checkpoint_config


@dataclass(frozen=True)
class CalibrationReport:
    """How well probabilities match the gold rate: ECE of sigmoid(margin) and of the calibrated probabilities."""

    n_items: int
    ece_uncalibrated: float
    ece_calibrated: float | None  # None when the scores carry no calibration

    def to_json(self) -> dict:
        return {"n_items": self.n_items, "ece_uncalibrated": self.ece_uncalibrated,
                "ece_calibrated": self.ece_calibrated}


def calibration_report(documents: Sequence[Document], scores: Sequence[PairScores]) -> CalibrationReport:
    margins, labels = scored_items(documents, scores)
    calibrated = None
    if scores and all(s.calibration is not None for s in scores):
        calibrated = item_probabilities(scores)
    return CalibrationReport(int(margins.size), expected_calibration_error(sigmoid(margins), labels),
                             None if calibrated is None else expected_calibration_error(calibrated, labels))


def fit_from_scores(documents: Sequence[Document], scores: Sequence[PairScores]) -> MarginCalibration:
    margins, labels = scored_items(documents, scores)
    return fit_calibration(margins, labels)


def calibrate_checkpoint(directory: str | Path, documents: Sequence[Document],
                         scores: Sequence[PairScores]) -> MarginCalibration:
    """Fit on the checkpoint's own scores of labelled documents and store the result in its config.json."""
    calibration = fit_from_scores(documents, scores)
    update_checkpoint_config(directory, calibration=calibration.to_json())
    return calibration
