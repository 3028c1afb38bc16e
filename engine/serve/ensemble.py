"""Several checkpoints as one model: per pair and relation, the mean of the members' calibrated
probabilities, predicted where it exceeds the mean of the members' probabilities at their own decision
boundary (margin 0), at most top_k per pair.

Why calibrated probabilities rather than raw margins: methods put margins on different scales (P3M's are
bounded by its cosine scale), so a mean margin lets the widest-scaled member outvote the rest; each
checkpoint's calibration (engine.data.margin_calibration) maps its margins to probabilities that mean the same
thing. The boundary keeps each member's operating point: a member's own rule is margin > 0, which its
calibration maps to its decision probability. Without calibrations this is the mean of sigmoid(margin)
against 0.5. The ensemble's margins are logit(mean p) - logit(boundary), so margin > 0 still means
predicted. Members must share the relation schema; each reads the documents with its own tokenizer."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from engine.data.documents import Document
from engine.data.margin_calibration import MarginCalibration
from engine.data.pair_extras import merge_extras
from engine.data.pair_scores import PairScores
from engine.data.schema import RelationSchema
from engine.errors import CheckpointError
from engine.model.thresholds import threshold_decode, threshold_probabilities
from engine.serve.predictor import Predictor, Progress


def ensemble_name(methods: Sequence[str]) -> str:
    return "ensemble(" + "+".join(methods) + ")"


def combine_scores(members: Sequence[PairScores], top_k: int = 4) -> PairScores:
    """One document's ensemble scores from its members' (same title, pairs and relations)."""
    first = members[0]
    for other in members[1:]:
        if (other.title, other.relation_ids) != (first.title, first.relation_ids) or not (
                np.array_equal(other.heads, first.heads) and np.array_equal(other.tails, first.tails)):
            raise CheckpointError(f"ensemble members disagree on document {first.title!r}: {first.method} and "
                                  f"{other.method} score different pairs or relations")
    probability = np.mean([m.calibrated_probabilities() for m in members], axis=0)  # (n_p, R)
    boundary = float(np.mean([(m.calibration or MarginCalibration()).decision_probability for m in members]))
    margins = (_logit(probability) - _logit(np.float64(boundary))).astype(np.float32)  # (n_p, R), > 0: predicted
    logits = np.concatenate([np.zeros((margins.shape[0], 1), np.float32), margins], axis=1)  # (n_p, R + 1)
    tensor = torch.from_numpy(logits)
    return PairScores(title=first.title, method=ensemble_name([m.method for m in members]),
                      relation_ids=first.relation_ids, heads=first.heads, tails=first.tails, logits=logits,
                      probabilities=threshold_probabilities(tensor).numpy(),
                      decoded=threshold_decode(tensor, top_k).numpy(),
                      extras=merge_extras([m.extras for m in members]),
                      # sigmoid(margin + logit(boundary)) gives back the mean probability exactly
                      calibration=MarginCalibration(1.0, float(_logit(np.float64(boundary))), n_fitted=1))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


class EnsemblePredictor:
    """The Predictor interface over several checkpoints, one after the other on the same documents."""

    def __init__(self, members: Sequence[Predictor], top_k: int = 4) -> None:
        if len(members) < 2:
            raise CheckpointError("an ensemble needs at least two checkpoints")
        schema = members[0].schema
        for member in members[1:]:
            if member.schema != schema:
                raise CheckpointError(f"ensemble members need one relation schema: {members[0].method} and "
                                      f"{member.method} differ")
        self.members, self.top_k = list(members), top_k

    @classmethod
    def from_checkpoints(cls, directories: Sequence[str | Path], device: str | None = None,
                         **kwargs) -> "EnsemblePredictor":
        return cls([Predictor.from_checkpoint(d, device, **kwargs) for d in directories])

    @property
    def method(self) -> str:
        return ensemble_name([m.method for m in self.members])

    @property
    def schema(self) -> RelationSchema:
        return self.members[0].schema

    def check_limits(self, documents: Sequence[Document]) -> None:
        """Every member's document limits (Predictor.check_limits)."""
        for member in self.members:
            member.check_limits(documents)

    def predict(self, documents: Sequence[Document], progress: Progress | None = None) -> list[PairScores]:
        self.check_limits(documents)  # before the first member spends its time
        n, total = len(self.members), len(documents)
        per_member = []
        for i, member in enumerate(self.members):
            step = None if progress is None else (lambda done, _t, i=i: progress(i * total + done, n * total))
            per_member.append(member.predict(documents, step))
        return [combine_scores([scores[d] for scores in per_member], self.top_k) for d in range(total)]


def load_predictor(checkpoints: Sequence[str | Path] | None, device: str | None = None, **kwargs):
    """One checkpoint (None: the shipped default) -> Predictor; several -> EnsemblePredictor."""
    if not checkpoints or len(checkpoints) == 1:
        return Predictor.from_checkpoint(checkpoints[0] if checkpoints else None, device, **kwargs)
    return EnsemblePredictor.from_checkpoints(checkpoints, device, **kwargs)
