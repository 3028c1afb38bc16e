"""Hand-made documents and model scores for the ranker tests: no encoder, no torch, values chosen by hand."""
from __future__ import annotations

import numpy as np

from engine.data.documents import Document, Entity, Fact, Mention
from engine.data.pair_scores import PairScores

RELS = ("P17", "P131", "P150")


def ent(type_: str, *mentions: tuple[str, int, int, int]) -> Entity:
    return Entity(tuple(Mention(name, sent, start, end, type_) for name, sent, start, end in mentions))


# 0 Paris (s0), 1 France (s0 and s1), 2 Marie (s1). Gold: France contains Paris (P150).
DOC = Document("D", (("Paris", "is", "in", "France", "."), ("Marie", "left", "France", ".")),
               (ent("LOC", ("Paris", 0, 0, 1)), ent("LOC", ("France", 0, 3, 4), ("France", 1, 2, 3)),
                ent("PER", ("Marie", 1, 0, 1))),
               (Fact(1, 0, "P150"),))
TRAIN = Document("T", (("x",),), (ent("LOC", ("a", 0, 0, 1)), ent("LOC", ("b", 0, 0, 1))),
                 (Fact(0, 1, "P17"), Fact(0, 1, "P131"), Fact(1, 0, "P150")))


def scores(title: str, n_e: int, margins: dict[tuple[int, int, str], float], method: str = "atlop.v1",
           default: float = -5.0, rels: tuple[str, ...] = RELS) -> PairScores:
    """Threshold logit 0 everywhere, so a relation's logit is its margin; unspecified margins are `default`."""
    hs, ts = np.nonzero(~np.eye(n_e, dtype=bool))
    logits = np.full((len(hs), len(rels) + 1), default, dtype=np.float32)
    logits[:, 0] = 0.0
    row = {(int(a), int(b)): p for p, (a, b) in enumerate(zip(hs, ts))}
    for (h, t, r), m in margins.items():
        logits[row[(h, t)], 1 + rels.index(r)] = m
    probs = 1 / (1 + np.exp(-logits))
    return PairScores(title, method, rels, hs, ts, logits, probs, logits[:, 1:] > 0)


def line_document(title: str, n_e: int, facts: tuple[Fact, ...] = ()) -> Document:
    """n_e LOC entities, entity i mentioned once in sentence i // 2."""
    sents = tuple(("w",) * 4 for _ in range((n_e + 1) // 2))
    return Document(title, sents, tuple(ent("LOC", (f"e{i}", i // 2, 0, 1)) for i in range(n_e)), facts)
