"""The hidden-triple draw (--drop-labels) follows label_seed when it is set, so that runs of several seeds
hide the same triples as the warm start they continue; without it, the run's seed draws them."""
from __future__ import annotations

import pytest

from engine.config import TrainConfig
from engine.errors import ConfigError
from engine.model.features import DocFeatures
from engine.train.trainer import hidden_triples


class _Facts:
    """Just what hidden_triples reads of a document's features: its (h, t, class) facts."""

    def __init__(self, facts: list[tuple[int, int, int]]) -> None:
        self.facts = facts


def _features() -> list[DocFeatures]:
    return [_Facts([(h, t, 1 + (h + t) % 5) for h in range(6) for t in range(6) if h != t]) for _ in range(4)]  # type: ignore[list-item]


def test_runs_of_different_seeds_hide_the_same_triples_under_one_label_seed():
    features = _features()
    drawn = [hidden_triples(features, 0.5, TrainConfig(seed=s, drop_labels=0.5, label_seed=0).hidden_triples_seed)
             for s in (0, 1, 2)]
    assert drawn[0] == drawn[1] == drawn[2]
    assert sum(len(h) for h in drawn[0]) == round(0.5 * 4 * 30)


def test_without_a_label_seed_the_runs_seed_draws_the_hidden_triples():
    features = _features()
    a = hidden_triples(features, 0.5, TrainConfig(seed=0, drop_labels=0.5).hidden_triples_seed)
    b = hidden_triples(features, 0.5, TrainConfig(seed=1, drop_labels=0.5).hidden_triples_seed)
    assert a != b
    assert a == hidden_triples(features, 0.5, 0)


def test_a_negative_label_seed_other_than_minus_one_is_refused():
    with pytest.raises(ConfigError, match="label_seed"):
        TrainConfig(label_seed=-2).validate()
