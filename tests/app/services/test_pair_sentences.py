"""The Document page's pair panel shows text for every pair: an inter-sentence pair (no sentence names both, no
gold evidence) shows the sentences naming the head and those naming the tail."""
from __future__ import annotations

import pytest

pytest.importorskip("streamlit")

from app.services.documents import pair_sentences
from engine.data.documents import Fact
from tests.db_support import tiny_document


def test_an_inter_sentence_pair_shows_the_sentences_of_both_entities() -> None:
    doc = tiny_document(facts=())  # Ann Lee in [0], Paris in [0] and [1], France in [1]
    apart = pair_sentences(doc, 0, 2)
    assert (apart.shared, apart.gold, apart.head, apart.tail, apart.shown) == ((), (), (0,), (1,), (0, 1))
    together = pair_sentences(doc, 0, 1)
    assert together.shared == (0,) and together.shown == (0,)  # a shared sentence is enough


def test_gold_evidence_is_shown_for_an_inter_sentence_pair_when_labelled() -> None:
    doc = tiny_document(facts=(Fact(0, 2, "P27", (1,)),))
    evidence = pair_sentences(doc, 0, 2)
    assert evidence.shared == () and evidence.gold == (1,) and evidence.shown == (1,)
