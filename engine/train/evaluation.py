"""Dev evaluation during training: the model as it is now, scored by the same predictor users run."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from engine.data.documents import Document
from engine.data.metrics import evaluate
from engine.model.checkpoint import LoadedModel
from engine.serve.predictor import Predictor


@dataclass(frozen=True)
class DevEvaluator:
    """F1, Ign F1, precision and recall on labelled dev documents (`train` gives Ign F1 its training facts)."""

    dev: Sequence[Document]
    train: Sequence[Document] | None = None

    def __call__(self, loaded: LoadedModel, device: str) -> dict:
        scores = Predictor(loaded, device).predict(self.dev)
        predicted = [[(h, t, r) for h, t, r, _ in s.predicted_triples()] for s in scores]
        report = evaluate(self.dev, predicted, self.train)
        o = report.overall
        return {"f1": o.f1, "ign_f1": report.ign_f1, "precision": o.precision, "recall": o.recall}
