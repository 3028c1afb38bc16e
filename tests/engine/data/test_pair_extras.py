"""The method-extras slot: every kind serialises, slices per document, merges across ensemble members, and
scores saved before the slot existed (top-level pair_potential / mention_grids) still load."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data.pair_extras import MentionGrids, MentionPairGrid, PairValues, extras_from_json, merge_extras
from engine.data.pair_scores import PairScores
from engine.errors import InputFileError


def _scores(extras) -> PairScores:
    logits = np.zeros((2, 3), np.float32)
    return PairScores("d", "m.v1", ("P1", "P2"), np.array([0, 1]), np.array([1, 0]), logits, logits,
                      np.zeros((2, 2), bool), extras=extras)


def _grid(value: float) -> MentionPairGrid:
    return MentionPairGrid(np.full((1, 2), value, np.float32), np.full((1, 2, 2), value, np.float32))


def test_each_kind_round_trips_through_pair_scores_json() -> None:
    scores = _scores({"pair_potential": PairValues("pair potential", np.array([0.25, 0.75], np.float32)),
                      "mention_grids": MentionGrids("key mention pairs", (_grid(0.5), _grid(0.125)))})
    back = PairScores.from_json(scores.to_json())
    assert back.extra("pair_values").values.tolist() == [0.25, 0.75]
    assert back.extra(MentionGrids).grids[1].key_probability.tolist() == [[0.125, 0.125]]
    assert back.extra("pair_values").label == "pair potential"


def test_legacy_top_level_keys_still_load() -> None:
    data = _scores({}).to_json()
    data["pair_potential"] = [0.5, 0.25]
    data["mention_grids"] = [_grid(0.5).to_json(), _grid(0.25).to_json()]
    back = PairScores.from_json(data)
    assert back.extra("pair_values").values.tolist() == [0.5, 0.25]
    assert len(back.extra("mention_grids").grids) == 2


def test_unknown_kind_is_named() -> None:
    data = {**_scores({}).to_json(), "extras": {"x": {"kind": "hologram"}}}
    with pytest.raises(InputFileError, match="extra 'x' has unknown kind 'hologram'"):
        extras_from_json(data)


def test_rows_slice_one_document_and_merge_averages_members_that_have_it() -> None:
    values = PairValues("p", np.array([0.0, 0.2, 0.4, 0.6], np.float32))
    assert values.rows(1, 3).values.tolist() == pytest.approx([0.2, 0.4])
    merged = merge_extras([{"pair_potential": PairValues("p", np.array([0.2, 0.4], np.float32))}, {},
                           {"pair_potential": PairValues("p", np.array([0.4, 0.8], np.float32)),
                            "mention_grids": MentionGrids("g", (_grid(0.2),))},
                           {"mention_grids": MentionGrids("g", (_grid(0.6),))}])
    assert merged["pair_potential"].values.tolist() == pytest.approx([0.3, 0.6])
    np.testing.assert_allclose(merged["mention_grids"].grids[0].key_probability, [[0.4, 0.4]])
