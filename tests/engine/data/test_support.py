"""engine.data.support: a suggestion's support round-trips through JSON, older and partial stored forms read
back with empty defaults, and a value that cannot be read names its field."""
from __future__ import annotations

import pytest

from engine.data.support import KeyMentionPair, ModelVote, Support, SupportError, stored_support

FULL = Support({"atlop.v1#1": ModelVote(1.25, 0.8), "ncrl.v1#2": ModelVote(-0.5, 0.3)}, 1, (0, 2), True,
               ("P17 from P131",), (KeyMentionPair("kmgre.v1#3", 0, 1, 0.9, 0.7, 0, (0, 2), 2, (4, 5)),),
               {"by": "ranker", "probability": 0.61})


def test_a_support_round_trips_through_json() -> None:
    assert Support.from_json(FULL.to_json()) == FULL
    assert stored_support(FULL.to_json()) == FULL


def test_older_and_partial_forms_read_with_empty_defaults() -> None:
    # as written before rules, key mention pairs and the ranking note were recorded
    before_ranker = {"models": {"atlop.v1#1": {"margin": 0.4, "probability": 0.6}}, "agreeing_models": 1,
                     "sentences": [1], "type_fit": None}
    assert Support.from_json(before_ranker) == Support({"atlop.v1#1": ModelVote(0.4, 0.6)}, 1, (1,), None)
    # hand-made imports: sentences only; no agreeing_models (counted from the votes); unknown keys ignored
    assert Support.from_json({"sentences": [0]}) == Support({}, 0, (0,), None)
    assert Support.from_json({"models": {"a": {"margin": 1.0, "probability": 0.7},
                                         "b": {"margin": -1.0, "probability": 0.2}}, "by": "p3m"}).agreeing_models == 1
    assert stored_support(None) is None and stored_support({}) is None


@pytest.mark.parametrize(("value", "message"), [
    ([1, 2], "support: expected a JSON object, got list"),
    ({"models": {"a": {"margin": "high", "probability": 0.5}}}, "models: could not convert"),
    ({"models": {"a": {"margin": 1.0}}}, "models: missing 'probability'"),
    ({"sentences": ["first"]}, "sentences: invalid literal"),
    ({"type_fit": "yes"}, "type_fit: expected true, false or null, got 'yes'"),
    ({"key_mention_pairs": [{"model": "k"}]}, "key_mention_pairs: missing 'head_mention'"),
    ({"ranking": 0.5}, "ranking: expected a JSON object, got float"),
])
def test_an_unreadable_support_names_its_field(value, message) -> None:
    with pytest.raises(SupportError, match=f"^{message}"):
        Support.from_json(value)
