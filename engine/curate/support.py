"""A suggestion's support (engine.data.support) built from the models' scores: each model's vote, shared
sentences, type fit, fired rules, KMGRE key mention pairs, and which ranking scored it.

Shared by the formula and the learned ranker, so a suggestion's support reads the same whichever ranked it."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from engine.data.documents import Document, Entity
from engine.data.pair_scores import PairScores
from engine.data.support import KeyMentionPair, ModelVote, Support

KEY_MENTION_PAIRS = 3  # per model and suggestion


def shared_sentences(head: Entity, tail: Entity) -> tuple[int, ...]:
    """Sentence ids that hold a mention of both entities."""
    return tuple(sorted({m.sent_id for m in head.mentions} & {m.sent_id for m in tail.mentions}))


def _key_mention_pairs(doc: Document, per_model: Mapping[str, PairScores], h: int, t: int,
                       r: str) -> tuple[KeyMentionPair, ...]:
    """The top KEY_MENTION_PAIRS mention pairs by key probability, for each model with mention-pair grids."""
    out: list[KeyMentionPair] = []
    head, tail = doc.entities[h].mentions, doc.entities[t].mentions
    for name, ps in per_model.items():
        grids = ps.extra("mention_grids")
        if grids is None or r not in ps.relation_ids:
            continue
        try:
            grid = grids.grids[ps.pair(h, t)]
        except KeyError:
            continue
        key = grid.key_probability  # (n_head_mentions, n_tail_mentions)
        col = ps.relation_ids.index(r)  # grids hold one probability per relation, no threshold column
        for flat in np.argsort(-key, axis=None, kind="stable")[:KEY_MENTION_PAIRS]:
            i, j = np.unravel_index(flat, key.shape)
            out.append(KeyMentionPair(name, int(i), int(j), float(key[i, j]),
                                      float(grid.relation_probability[i, j, col]),
                                      head[i].sent_id, head[i].pos, tail[j].sent_id, tail[j].pos))
    return tuple(out)


def build_support(doc: Document, per_model: Mapping[str, PairScores], h: int, t: int, r: str, type_fit: bool | None,
                  rules: tuple[str, ...], ranking: Mapping[str, Any] | None = None) -> Support:
    """The support of one triple, read straight from each model's scores (models that lack r do not vote)."""
    votes: dict[str, ModelVote] = {}
    for name, ps in per_model.items():
        if r not in ps.relation_ids:
            continue
        try:
            p = ps.pair(h, t)
        except KeyError:
            continue
        k = ps.relation_ids.index(r)
        votes[name] = ModelVote(float(ps.logits[p, 1 + k] - ps.logits[p, 0]), float(ps.probabilities[p, 1 + k]))
    agree = sum(v.margin > 0 for v in votes.values())
    return Support(votes, agree, shared_sentences(doc.entities[h], doc.entities[t]), type_fit, rules,
                    _key_mention_pairs(doc, per_model, h, t, r), ranking)
