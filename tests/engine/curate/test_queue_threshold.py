"""The queue's default minimum probability: the lowest step above every document's (cap + 1)-th best item."""
from __future__ import annotations

import pytest

from engine.curate.yield_estimates import per_document_cap_threshold


def test_threshold_keeps_at_most_the_cap_in_every_document_and_no_more_than_needed() -> None:
    docs = [[0.9, 0.5, 0.305, 0.2], [0.8, 0.1], [0.7, 0.6, 0.41, 0.4, 0.01]]
    threshold = per_document_cap_threshold(docs, 2)
    assert threshold == pytest.approx(0.42)  # the third document's third-best is 0.41
    assert max(sum(p >= threshold for p in doc) for doc in docs) == 2
    assert sum(p >= threshold - 0.01 for p in docs[2]) == 3  # one step lower breaks the cap


def test_threshold_is_zero_when_no_document_exceeds_the_cap_and_refuses_nonsense() -> None:
    assert per_document_cap_threshold([[0.9, 0.5], []], 2) == 0.0
    assert per_document_cap_threshold([[0.3, 0.3, 0.3]], 2) == pytest.approx(0.31)  # ties go together
    with pytest.raises(ValueError, match="max_items"):
        per_document_cap_threshold([[0.1]], -1)
