"""A tiny hand-written DocRED document as JSON, shared by the reader and streaming tests."""
from __future__ import annotations

from typing import Any

TITLE = "Tiny Town"


def tiny_doc(title: str = TITLE) -> dict[str, Any]:
    """Two sentences, three entities, two labels: small enough to break one rule at a time."""
    return {
        "title": title,
        "sents": [["Tiny", "Town", "is", "in", "France", "."], ["Ann", "Lee", "lives", "there", "."]],
        "vertexSet": [
            [{"name": "Tiny Town", "sent_id": 0, "pos": [0, 2], "type": "LOC"}],
            [{"name": "France", "sent_id": 0, "pos": [4, 5], "type": "LOC"}],
            [{"name": "Ann Lee", "sent_id": 1, "pos": [0, 2], "type": "PER"}],
        ],
        "labels": [
            {"h": 0, "t": 1, "r": "P17", "evidence": [0]},
            {"h": 2, "t": 1, "r": "P27", "evidence": [0, 1]},
        ],
    }
