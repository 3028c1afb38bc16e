"""The matrix window over a long document (issue 25 point 5): over about 60 entities the matrix opens on the
entities that hold a prediction or a gold triple, with the current pair, and pages through the rest; its cells
are built from the page's pairs only."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.components import matrix, matrix_window
from engine.data.documents import Fact
from tests.model_helpers import sparse_scores, synthetic_document

PREDICTED = [(70, 85), (90, 95), (85, 12)]  # pairs with a decoded relation, far down the entity list


def long_scores(n: int):
    return sparse_scores(n, PREDICTED)


def test_small_documents_are_not_paged() -> None:
    assert not matrix_window.is_paged(60) and matrix_window.is_paged(61)


def test_a_long_matrix_opens_on_the_predicted_entities_and_the_current_pair() -> None:
    doc = replace(synthetic_document(150), facts=(Fact(140, 141, "P27", (0,)),))
    scores = long_scores(150)
    window = matrix_window.opening_window(doc, scores, selected=(130, 3))
    active = [12, 70, 85, 90, 95, 140, 141]
    assert window.predicted == len(active) and window.page == 0 and window.pages == 3
    assert set(active) | {130, 3} <= set(window.entities)
    rest = [e for e in range(150) if e not in active]
    assert window.entities == sorted(set(active + rest[:60 - len(active)]) | {130})  # first page, the pair added


def test_paging_reaches_every_entity_once() -> None:
    doc, scores = synthetic_document(150), long_scores(150)
    order = matrix_window.candidates(doc, scores)
    pages = [matrix_window.matrix_window(doc, scores, order, k).entities for k in range(3)]
    assert sorted(e for page in pages for e in page) == list(range(150))
    assert [len(p) for p in pages] == [60, 60, 30]
    assert matrix_window.matrix_window(doc, scores, order, 99).page == 2  # clamped to the last page
    only = matrix_window.candidates(doc, scores, active_only=True)
    assert only == [12, 70, 85, 90, 95] and matrix_window.page_count(only) == 1


def test_type_filter_comes_before_paging() -> None:
    doc = synthetic_document(150)
    doc = replace(doc, entities=tuple(replace(e, mentions=tuple(replace(m, type="LOC") for m in e.mentions))
                                      if i % 3 == 0 else e for i, e in enumerate(doc.entities)))
    order = matrix_window.candidates(doc, long_scores(150), types=["LOC"])
    assert order == [12, 90] + [e for e in range(0, 150, 3) if e not in (12, 90)]


def test_cells_are_built_for_the_window_only_and_keep_their_scores() -> None:
    doc, scores = synthetic_document(150), long_scores(150)
    window = matrix_window.opening_window(doc, scores)
    sub = matrix_window.window_scores(scores, window.entities)
    n = len(window.entities)
    assert len(sub.heads) == n * (n - 1)
    assert set(sub.heads.tolist()) == set(window.entities) == set(sub.tails.tolist())
    for h, t in [(70, 85), (85, 12), (0, 1)]:
        assert np.array_equal(sub.logits[sub.pair(h, t)], scores.logits[scores.pair(h, t)])
    cells = matrix.view_cells("predicted", doc, sub, {})
    coloured = {(c.head, c.tail) for c in cells if c.category != matrix.BELOW}
    assert coloured == {(70, 85), (90, 95), (85, 12)}
    fig = matrix.matrix_figure(doc, cells, entities=window.entities)
    assert len(fig.layout.xaxis.ticktext) == n
