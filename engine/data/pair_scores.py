"""`PairScores`: everything a model says about one document, per ordered entity pair.

Every method fills the same arrays (class 0 is the learned "no relation" threshold), so every view and
the review queue can treat models alike; PAEE adds pair potentials, KMGRE mention-pair grids."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class MentionPairGrid:
    """KMGRE's view of one entity pair: per (head mention, tail mention) the key-instance probability
    and the mention-level relation probabilities. Mention indices index the entity's mentions."""

    key_probability: np.ndarray  # (n_head_mentions, n_tail_mentions)
    relation_probability: np.ndarray  # (n_head_mentions, n_tail_mentions, n_relations)

    def to_json(self) -> dict[str, Any]:
        return {"key_probability": self.key_probability.round(5).tolist(),
                "relation_probability": self.relation_probability.round(5).tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "MentionPairGrid":
        return cls(np.asarray(data["key_probability"], dtype=np.float32),
                   np.asarray(data["relation_probability"], dtype=np.float32))


@dataclass(frozen=True)
class PairScores:
    """Scores of one document. Row p is the ordered pair (heads[p], tails[p]).

    logits: (n_pairs, n_relations + 1), column 0 the threshold logit.
    probabilities: (n_pairs, n_relations + 1), the method's own probabilities (column 0: of "no relation").
    decoded: (n_pairs, n_relations) bool, the relations the method's decode rule predicts."""

    title: str
    method: str
    relation_ids: tuple[str, ...]
    heads: np.ndarray
    tails: np.ndarray
    logits: np.ndarray
    probabilities: np.ndarray
    decoded: np.ndarray
    pair_potential: np.ndarray | None = None  # (n_pairs,) PAEE
    mention_grids: tuple[MentionPairGrid, ...] | None = None  # one per pair, KMGRE
    _pair_index: dict[tuple[int, int], int] = field(default_factory=dict, init=False, repr=False, compare=False)


    @property
    def threshold(self) -> np.ndarray:
        """(n_pairs,) the learned "no relation" logit."""
        return self.logits[:, 0]

    @property
    def margins(self) -> np.ndarray:
        """(n_pairs, n_relations) logit minus threshold: > 0 means predicted (for threshold decoders)."""
        return self.logits[:, 1:] - self.logits[:, :1]

    def pair(self, h: int, t: int) -> int:
        """Row of the ordered pair (h, t). The index is built on first use, not with the scores: a dict entry
        per pair costs about 250 bytes, most of the memory of a 1,000-entity document's million pairs."""
        if not self._pair_index and len(self.heads):
            self._pair_index.update({(int(h), int(t)): p for p, (h, t) in enumerate(zip(self.heads, self.tails))})
        return self._pair_index[(h, t)]

    def predicted_triples(self) -> list[tuple[int, int, str, float]]:
        """(head, tail, relation id, margin) for every decoded relation."""
        rows, cols = np.nonzero(self.decoded)
        margins = self.margins
        return [(int(self.heads[p]), int(self.tails[p]), self.relation_ids[r], float(margins[p, r]))
                for p, r in zip(rows, cols)]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "title": self.title, "method": self.method, "relation_ids": list(self.relation_ids),
            "heads": self.heads.tolist(), "tails": self.tails.tolist(),
            "logits": self.logits.round(4).tolist(), "probabilities": self.probabilities.round(5).tolist(),
            "decoded": [np.nonzero(row)[0].tolist() for row in self.decoded],
        }
        if self.pair_potential is not None:
            out["pair_potential"] = self.pair_potential.round(5).tolist()
        if self.mention_grids is not None:
            out["mention_grids"] = [g.to_json() for g in self.mention_grids]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PairScores":
        n_rel = len(data["relation_ids"])
        decoded = np.zeros((len(data["heads"]), n_rel), dtype=bool)
        for p, cols in enumerate(data["decoded"]):
            decoded[p, cols] = True
        grids = data.get("mention_grids")
        return cls(
            title=data["title"], method=data["method"], relation_ids=tuple(data["relation_ids"]),
            heads=np.asarray(data["heads"], dtype=np.int64), tails=np.asarray(data["tails"], dtype=np.int64),
            logits=np.asarray(data["logits"], dtype=np.float32).reshape(-1, n_rel + 1),
            probabilities=np.asarray(data["probabilities"], dtype=np.float32).reshape(-1, n_rel + 1),
            decoded=decoded,
            pair_potential=None if data.get("pair_potential") is None else np.asarray(data["pair_potential"], dtype=np.float32),
            mention_grids=None if grids is None else tuple(MentionPairGrid.from_json(g) for g in grids),
        )
