"""The Document page puts the text, the matrix and the pair panel side by side (issue 25): none starts a screen
further down than the others; an inter-sentence pair names the sentences of its head and of its tail."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from app import services
from app.state import Keys
from tests.app.page_support import app, seed_ids, texts


def test_text_matrix_and_pair_panel_are_side_by_side(seeded: Path) -> None:
    dataset_id, doc_ids = seed_ids()
    doc = services.documents.document(doc_ids[0])
    at = app("document", **{"docre.dataset_id": dataset_id, "docre.document_id": doc_ids[0]})
    columns = [c for c in at.columns if c.get("plotly_chart") or c.get("html") or c.selectbox]
    text, matrix_column, panel = columns[:3]
    assert text.get("html") and "<mark" in text.get("html")[0].proto.body  # the document's text
    assert matrix_column.get("plotly_chart")  # the matrix
    assert {s.key for s in panel.selectbox} >= {Keys.HEAD, Keys.TAIL} and panel.get("plotly_chart")  # logits
    assert doc.num_entities >= 2


def test_an_inter_sentence_pair_names_the_sentences_of_each_entity(seeded: Path) -> None:
    dataset_id, doc_ids = seed_ids()
    doc = services.documents.document(doc_ids[0])
    h, t = next((h, t) for h in range(doc.num_entities) for t in range(doc.num_entities)
                if h != t and not services.documents.pair_sentences(doc, h, t).shared
                and not services.documents.pair_sentences(doc, h, t).gold)
    at = app("document", **{"docre.dataset_id": dataset_id, "docre.document_id": doc_ids[0], "docre.pair": (h, t),
                            Keys.HEAD: h, Keys.TAIL: t})
    evidence = services.documents.pair_sentences(doc, h, t)
    assert ("none (an inter-sentence pair): the head in " + " ".join(f"[{i}]" for i in evidence.head)) in texts(at)
    assert len(at.get("html")) >= 2  # the text and the pair's sentences
