"""The Document page's matrix over a long document (issue 25 point 5): it opens on the entities that hold a
prediction, with the current pair, and the user pages through the rest."""
from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")

from app import services
from app.state import Keys
from db import store
from tests.app.page_support import app, figures, texts
from tests.model_helpers import sparse_scores, synthetic_document

N = 150
PREDICTED = [(70, 85), (90, 95), (85, 12)]


def seed_long() -> tuple[int, int]:
    dataset_id, result = services.documents.store_upload("long", [synthetic_document(N, "a long text")])
    (doc_id,) = result.added
    with services.resources.session() as s:
        run_id = store.record_run(s, dataset_id, checkpoint="m", method="atlop.v1", version="1", seconds=0)
        store.save_pair_scores(s, run_id, doc_id, sparse_scores(N, PREDICTED, "a long text"))
    services.scoring.clear_caches()
    return dataset_id, doc_id


def matrix_entities(at) -> set[int]:
    """The entity indices of the matrix's cells (its clickable trace carries [head, tail] per cell)."""
    (pairs,) = [t for fig in figures(at) for t in fig["data"] if t.get("name") == "pairs"]
    data = pairs["customdata"]
    if isinstance(data, dict):  # plotly's typed-array form: {"dtype", "bdata" (base64), "shape"}
        data = np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return {int(x) for x in np.ravel(data)}


def test_a_long_matrix_opens_on_the_predicted_entities_and_pages_to_the_rest(env: Path) -> None:
    dataset_id, doc_id = seed_long()
    at = app("document", **{"docre.dataset_id": dataset_id, "docre.document_id": doc_id})
    first = matrix_entities(at)
    assert {12, 70, 85, 90, 95} <= first and {0, 1} <= first and len(first) == 60  # the current pair is (0, 1)
    assert "first the 5 with a prediction or a gold triple, then the rest; page 1 of 3" in texts(at)
    page = at.number_input(key=f"{Keys.MATRIX_PAGE}.{doc_id}.{N}")
    page.set_value(2).run()
    second = matrix_entities(at)
    assert second == (set(range(56, 120)) - {70, 85, 90, 95}) | {0, 1}  # the next 60, and the current pair
    at.number_input(key=f"{Keys.MATRIX_PAGE}.{doc_id}.{N}").set_value(3).run()
    assert matrix_entities(at) == set(range(120, N)) | {0, 1}
