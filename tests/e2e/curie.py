"""The small document the annotation browser tests share: Marie Curie, five places, and a surname ("Curie") that
ingest left apart from the full name, so a merge has something to join."""
from __future__ import annotations

from engine.data.documents import Document, Entity, Fact, Mention

CURIE = Document(
    title="Marie Curie",
    sents=(("Marie", "Curie", "was", "born", "in", "Warsaw", ",", "Poland", "."),
           ("Curie", "later", "moved", "to", "Paris", "in", "France", ".")),
    entities=(
        Entity((Mention("Marie Curie", 0, 0, 2, "PER"),)),
        Entity((Mention("Warsaw", 0, 5, 6, "LOC"),)),
        Entity((Mention("Poland", 0, 7, 8, "LOC"),)),
        Entity((Mention("Curie", 1, 0, 1, "PER"),)),  # the surname ingest left apart from the full name
        Entity((Mention("Paris", 1, 4, 5, "LOC"),)),
        Entity((Mention("France", 1, 6, 7, "LOC"),)),
    ),
    facts=(Fact(0, 1, "P19", (0,)), Fact(3, 5, "P27", (1,)), Fact(4, 5, "P17", (1,))),
)
