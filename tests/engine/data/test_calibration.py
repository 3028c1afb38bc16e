"""Margin calibration: Platt scaling recovers a known slope and intercept, ECE matches a hand computation,
and bad stored values are named."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data.documents import Document, Entity, Fact, Mention
from engine.data.margin_calibration import (
    MarginCalibration,
    expected_calibration_error,
    fit_banded_calibration,
    fit_calibration,
    item_probabilities,
    item_relations,
    reliability_table,
    scored_items,
    sigmoid,
)
from engine.data.pair_scores import UNSCORED_MARGIN, PairScores
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


def _two_scales(n: int = 100_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Items of relations P1/P2 (frequent, true p = s(0.5 m - 2)) and P9 (rare, true p = s(1.5 m - 1))."""
    rng = np.random.default_rng(1)
    relations = rng.choice(np.array(["P1", "P2", "P9"], dtype=object), n, p=[0.45, 0.45, 0.10])
    margins = rng.normal(0, 3, n)
    slope = np.where(relations == "P9", 1.5, 0.5)
    intercept = np.where(relations == "P9", -1.0, -2.0)
    return margins, rng.random(n) < sigmoid(slope * margins + intercept), relations


def test_banded_fit_recovers_each_bands_scale_and_lowers_the_error() -> None:
    margins, labels, relations = _two_scales()
    groups = {"head": ("P1", "P2"), "tail": ("P9",)}
    banded = fit_banded_calibration(margins, labels, relations, groups)
    tail = next(b for b in banded.bands if b.name == "tail")
    assert tail.slope == pytest.approx(1.5, abs=0.1) and tail.intercept == pytest.approx(-1.0, abs=0.1)
    columns = ["P1", "P2", "P9"]  # one item per column: a (pairs, relations) grid as PairScores holds it
    gold = np.stack([labels[relations == r][:8_000] for r in columns], axis=1)
    by_column = np.stack([margins[relations == r][:8_000] for r in columns], axis=1)
    overall = fit_calibration(margins, labels)
    assert expected_calibration_error(banded.probabilities(by_column, columns), gold) < \
        expected_calibration_error(overall.probabilities(by_column), gold)
    # without the column names every column uses the model-wide pair
    assert np.allclose(banded.probabilities(by_column), overall.probabilities(by_column))


def test_a_band_with_few_positives_keeps_the_model_wide_pair() -> None:
    margins, labels, relations = _two_scales(4_000)
    labels = labels & (relations != "P9") | ((relations == "P9") & (np.arange(labels.size) < 200) & labels)
    banded = fit_banded_calibration(margins, labels, relations, {"head": ("P1", "P2"), "tail": ("P9",)},
                                    min_positives=30)
    assert [b.name for b in banded.bands] == ["head"]


def test_banded_calibration_round_trips_and_old_files_still_load() -> None:
    margins, labels, relations = _two_scales(20_000)
    banded = fit_banded_calibration(margins, labels, relations, {"head": ("P1", "P2"), "tail": ("P9",)})
    assert MarginCalibration.from_json(banded.to_json()) == banded
    assert MarginCalibration.from_json({"slope": 0.7, "intercept": -1.0}).bands == ()
    bad = {**banded.to_json(), "bands": [{"name": "tail", "relations": ["P9"], "slope": -1, "intercept": 0}]}
    with pytest.raises(InputFileError, match=r"bands\[0\].*slope must be a positive"):
        MarginCalibration.from_json(bad, "config.json calibration")


def _three_pairs(unscored_row: int | None) -> PairScores:
    """Entities 0..1 of a document, pairs (0, 1), (1, 0), (0, 2); one row may be the unscored one."""
    logits = np.array([[0.5, 2.0, -1.0], [0.1, -3.0, 0.4], [0.2, 0.0, 1.0]], dtype=np.float32)
    if unscored_row is not None:
        logits[unscored_row] = [0.0, UNSCORED_MARGIN, UNSCORED_MARGIN]
    return PairScores("d", "paee.v1", ("P1", "P9"), np.array([0, 1, 0]), np.array([1, 0, 2]), logits,
                      np.zeros_like(logits), logits[:, 1:] > logits[:, :1],
                      calibration=MarginCalibration(1.0, 0.0))


def test_items_follow_the_flattened_grid_and_leave_out_unscored_pairs() -> None:
    """scored_items, item_relations and item_probabilities list the same items in the same order; the pairs a
    restricted PAEE did not score are not items (their fill margin would bend a calibration fitted on them)."""
    doc = Document("d", (("A", "B", "C", "."),), tuple(Entity((Mention(n, 0, i, i + 1, "PER"),))
                                                       for i, n in enumerate("ABC")),
                   (Fact(1, 0, "P1"), Fact(0, 2, "P9")))
    full, cut = _three_pairs(None), _three_pairs(1)
    margins, labels = scored_items([doc, doc], [full, cut])
    assert list(item_relations([full, cut])) == ["P1", "P9"] * 5
    np.testing.assert_array_equal(margins, np.concatenate([full.margins.ravel(), full.margins[[0, 2]].ravel()]))
    assert labels.tolist() == [0, 0, 1, 0, 0, 1] + [0, 0, 0, 1]  # (1, 0) P1 is gold but unscored in `cut`
    np.testing.assert_allclose(item_probabilities([full, cut]), sigmoid(margins), rtol=1e-6)
    assert cut.scored_rows().tolist() == [True, False, True] and cut.unscored(1) and not full.unscored(1)
