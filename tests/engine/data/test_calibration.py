"""Margin calibration: Platt scaling recovers a known slope and intercept, ECE matches a hand computation,
and bad stored values are named."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data.margin_calibration import (
    MarginCalibration,
    expected_calibration_error,
    fit_calibration,
    reliability_table,
    sigmoid,
)
from engine.errors import InputFileError


def test_fit_recovers_the_generating_slope_and_intercept() -> None:
    rng = np.random.default_rng(0)
    margins = rng.normal(0, 3, 200_000)
    labels = rng.random(margins.size) < sigmoid(0.5 * margins - 2.0)  # true p = s(0.5 m - 2)
    cal = fit_calibration(margins, labels)
    assert cal.slope == pytest.approx(0.5, abs=0.02) and cal.intercept == pytest.approx(-2.0, abs=0.05)
    assert cal.n_fitted == margins.size
    # the calibrated probabilities are better calibrated than the raw sigmoid
    raw = expected_calibration_error(sigmoid(margins), labels)
    assert expected_calibration_error(cal.probabilities(margins), labels) < raw / 5


def test_ece_by_hand() -> None:
    # bins of width 1/15: 0.05 and 0.06 share bin 0 (mean conf 0.055, accuracy 0.5); 0.95 is bin 14 (acc 1)
    p = np.array([0.05, 0.06, 0.95])
    y = np.array([0, 1, 1])
    assert expected_calibration_error(p, y) == pytest.approx(2 / 3 * abs(0.5 - 0.055) + 1 / 3 * abs(1 - 0.95))
    assert reliability_table(p, y, bins=10) == [(0.0, pytest.approx(0.055), 0.5, 2), (0.9, 0.95, 1.0, 1)]


def test_decision_probability_and_identity() -> None:
    assert MarginCalibration().decision_probability == 0.5
    assert MarginCalibration(2.0, np.log(3.0)).decision_probability == pytest.approx(0.75)


@pytest.mark.parametrize("data", [{"slope": "x", "intercept": 0}, {"slope": -1.0, "intercept": 0.0}, {"intercept": 1.0},
                                  {"slope": float("nan"), "intercept": 0.0}])
def test_bad_stored_calibration_is_named(data) -> None:
    with pytest.raises(InputFileError, match="config.json calibration"):
        MarginCalibration.from_json(data, "config.json calibration")


def test_fit_refuses_documents_without_both_classes() -> None:
    with pytest.raises(InputFileError, match="both related and unrelated"):
        fit_calibration(np.array([1.0, 2.0]), np.array([0, 0]))
