"""`predict` records name their head and tail (issue 25): a record reads without the document beside it."""
from __future__ import annotations

import json

import numpy as np

from engine.cli.predict import prediction_line, result_rows
from engine.data.pair_scores import PairScores
from tests.db_support import tiny_document


def test_each_prediction_names_its_head_and_tail() -> None:
    doc = tiny_document()  # Ann Lee, Paris, France
    heads, tails = np.array([0, 1, 2]), np.array([1, 2, 0])
    logits = np.array([[0.0, 1.5, -1.0], [0.0, -2.0, 0.7], [0.0, -1.0, -1.0]], dtype=np.float32)  # (3 pairs, 1 + 2)
    decoded = logits[:, 1:] > logits[:, :1]
    scores = PairScores(doc.title, "atlop.v1", ("P551", "P17"), heads, tails, logits, logits, decoded)
    (line,) = [prediction_line(scores, doc)]
    rows = list(result_rows([line]))
    assert [(r["h_name"], r["t_name"], r["r"], r["score"]) for r in rows] == [("Ann Lee", "Paris", "P551", 1.5),
                                                                             ("Paris", "France", "P17", 0.7)]
    assert json.loads(line)["title"] == "Ann Lee"
