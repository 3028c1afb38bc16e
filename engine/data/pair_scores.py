"""`PairScores`: everything a model says about one document, per ordered entity pair.

Every method fills the same arrays (class 0 is the learned "no relation" threshold), so every view and
the review queue can treat models alike; what a method adds (pair potentials, mention-pair grids) travels
in `extras`, the one slot of engine.data.pair_extras."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, TypeVar

import numpy as np

from engine.data.margin_calibration import MarginCalibration, sigmoid
from engine.data.pair_extras import PairExtra, extras_from_json, extras_to_json

E = TypeVar("E", bound=PairExtra)
# The logits of a pair whose relations a method did not compute (PAEE's restriction to potential pairs): the
# threshold class at 0 and every relation this far below it, so every decode rule and calibration reads "no
# relation", and views can tell the row from a scored one (a trained classifier never yields it exactly).
UNSCORED_MARGIN = -30.0


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
    extras: Mapping[str, PairExtra] = field(default_factory=dict)  # the method's extra outputs, by key
    calibration: MarginCalibration | None = None  # fitted on the checkpoint's dev documents; None: not fitted
    _pair_index: dict[tuple[int, int], int] = field(default_factory=dict, init=False, repr=False, compare=False)


    @property
    def threshold(self) -> np.ndarray:
        """(n_pairs,) the learned "no relation" logit."""
        return self.logits[:, 0]

    @property
    def margins(self) -> np.ndarray:
        """(n_pairs, n_relations) logit minus threshold: > 0 means predicted (for threshold decoders)."""
        return self.logits[:, 1:] - self.logits[:, :1]

    def calibrated_probabilities(self) -> np.ndarray:
        """(n_pairs, n_relations): the probability that the pair holds each relation, comparable across models
        (the checkpoint's calibration of the margins; the plain sigmoid of the margins when it has none)."""
        if self.calibration is None:
            return sigmoid(self.margins).astype(np.float32)
        return self.calibration.probabilities(self.margins, self.relation_ids)

    def unscored(self, row: int) -> bool:
        """True when the method skipped this pair's relations (its logits are the UNSCORED_MARGIN row)."""
        return bool(_unscored(self.logits[row:row + 1])[0])

    def scored_rows(self) -> np.ndarray:
        """(n_pairs,) bool: the pairs whose relations the method computed (all of them, unless it restricts)."""
        return ~_unscored(self.logits)

    def extra(self, kind: type[E] | str) -> E | None:
        """The first extra of a kind (the class, or its name such as "pair_values" for callers that import no
        engine code), for views that show one of each."""
        name = kind if isinstance(kind, str) else kind.kind
        return next((v for v in self.extras.values() if v.kind == name), None)  # type: ignore[return-value]

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

    def take(self, rows: np.ndarray, *, heads: np.ndarray | None = None,
             tails: np.ndarray | None = None) -> "PairScores":
        """These pair rows, in this order, optionally under other entity indices (what an entity edit keeps of
        a document's scores). Extras are cut in runs of consecutive rows, the slicing every extra supports."""
        rows = np.asarray(rows, dtype=np.int64)
        runs: list[tuple[int, int]] = []
        for r in rows.tolist():
            if runs and runs[-1][1] == r:
                runs[-1] = (runs[-1][0], r + 1)
            else:
                runs.append((r, r + 1))
        extras = {k: type(v).concat([v.rows(a, b) for a, b in runs] or [v.rows(0, 0)]) for k, v in self.extras.items()}
        return replace(self, heads=self.heads[rows] if heads is None else np.asarray(heads, dtype=np.int64),
                       tails=self.tails[rows] if tails is None else np.asarray(tails, dtype=np.int64),
                       logits=self.logits[rows], probabilities=self.probabilities[rows], decoded=self.decoded[rows],
                       extras=extras)

    @classmethod
    def concat(cls, parts: "list[PairScores]") -> "PairScores":
        """Pairs of one document's score sets (one model, one relation schema) as one set, in part order."""
        first = parts[0]
        extras = {k: type(v).concat([p.extras[k] for p in parts]) for k, v in first.extras.items()}
        return replace(first, heads=np.concatenate([p.heads for p in parts]),
                       tails=np.concatenate([p.tails for p in parts]),
                       logits=np.concatenate([p.logits for p in parts]),
                       probabilities=np.concatenate([p.probabilities for p in parts]),
                       decoded=np.concatenate([p.decoded for p in parts]), extras=extras)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "title": self.title, "method": self.method, "relation_ids": list(self.relation_ids),
            "heads": self.heads.tolist(), "tails": self.tails.tolist(),
            "logits": self.logits.round(4).tolist(), "probabilities": self.probabilities.round(5).tolist(),
            "decoded": [np.nonzero(row)[0].tolist() for row in self.decoded],
        }
        if self.extras:
            out["extras"] = extras_to_json(self.extras)
        if self.calibration is not None:
            out["calibration"] = self.calibration.to_json()
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PairScores":
        n_rel = len(data["relation_ids"])
        decoded = np.zeros((len(data["heads"]), n_rel), dtype=bool)
        for p, cols in enumerate(data["decoded"]):
            decoded[p, cols] = True
        return cls(
            title=data["title"], method=data["method"], relation_ids=tuple(data["relation_ids"]),
            heads=np.asarray(data["heads"], dtype=np.int64), tails=np.asarray(data["tails"], dtype=np.int64),
            logits=np.asarray(data["logits"], dtype=np.float32).reshape(-1, n_rel + 1),
            probabilities=np.asarray(data["probabilities"], dtype=np.float32).reshape(-1, n_rel + 1),
            decoded=decoded, extras=extras_from_json(data),
            calibration=None if data.get("calibration") is None else MarginCalibration.from_json(
                data["calibration"], f"scores of {data['title']!r}"),
        )


def _unscored(logits: np.ndarray) -> np.ndarray:
    """(n,) bool for (n, 1 + R) logits: the rows that are the unscored row."""
    return (logits[:, 0] == 0.0) & np.all(logits[:, 1:] == UNSCORED_MARGIN, axis=1)
