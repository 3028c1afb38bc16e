"""Why a triple is suggested: each model's vote, shared sentences, type fit, fired rules, KMGRE key mention
pairs, and which ranking scored it (the learned ranker's calibrated probability, or the formula).

Shared by the formula and the learned ranker, so a suggestion's evidence reads the same whichever ranked it."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.data.documents import Document, Entity
from engine.data.pair_scores import PairScores

KEY_MENTION_PAIRS = 3  # per model and suggestion


@dataclass(frozen=True)
class ModelVote:
    """One model's view of a candidate: margin (logit - threshold) and the method's probability."""

    margin: float
    probability: float


@dataclass(frozen=True)
class KeyMentionPair:
    """A KMGRE key mention pair: mention indices within the head and tail entities, and where they are."""

    model: str
    head_mention: int
    tail_mention: int
    key_probability: float
    relation_probability: float | None
    head_sent_id: int
    head_pos: tuple[int, int]
    tail_sent_id: int
    tail_pos: tuple[int, int]

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "head_mention": self.head_mention, "tail_mention": self.tail_mention,
                "key_probability": round(self.key_probability, 5),
                "relation_probability": (None if self.relation_probability is None
                                         else round(self.relation_probability, 5)),
                "head": {"sent_id": self.head_sent_id, "pos": list(self.head_pos)},
                "tail": {"sent_id": self.tail_sent_id, "pos": list(self.tail_pos)}}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "KeyMentionPair":
        return cls(d["model"], d["head_mention"], d["tail_mention"], d["key_probability"], d["relation_probability"],
                   d["head"]["sent_id"], tuple(d["head"]["pos"]), d["tail"]["sent_id"], tuple(d["tail"]["pos"]))


@dataclass(frozen=True)
class Evidence:
    """Why a triple is suggested: every model's vote, shared sentences, type fit, fired rules, key mentions."""

    models: Mapping[str, ModelVote]
    agreeing_models: int
    sentences: tuple[int, ...]
    type_fit: bool | None
    rules: tuple[str, ...] = ()
    key_mention_pairs: tuple[KeyMentionPair, ...] = ()
    ranking: Mapping[str, Any] | None = None  # {"by": "ranker", "probability": ..., ...} or {"by": "formula", ...}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "models": {name: {"margin": round(v.margin, 4), "probability": round(v.probability, 5)}
                       for name, v in self.models.items()},
            "agreeing_models": self.agreeing_models, "sentences": list(self.sentences),
            "type_fit": self.type_fit, "rules": list(self.rules)}
        if self.key_mention_pairs:
            out["key_mention_pairs"] = [k.to_json() for k in self.key_mention_pairs]
        if self.ranking is not None:
            out["ranking"] = dict(self.ranking)
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Evidence":
        return cls({n: ModelVote(v["margin"], v["probability"]) for n, v in d["models"].items()},
                   d["agreeing_models"], tuple(d["sentences"]), d["type_fit"], tuple(d["rules"]),
                   tuple(KeyMentionPair.from_json(k) for k in d.get("key_mention_pairs", ())), d.get("ranking"))


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




def build_evidence(doc: Document, per_model: Mapping[str, PairScores], h: int, t: int, r: str, type_fit: bool | None,
                   rules: tuple[str, ...], ranking: Mapping[str, Any] | None = None) -> Evidence:
    """The evidence of one triple, read straight from each model's scores (models that lack r do not vote)."""
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
    return Evidence(votes, agree, shared_sentences(doc.entities[h], doc.entities[t]), type_fit, rules,
                    _key_mention_pairs(doc, per_model, h, t, r), ranking)
