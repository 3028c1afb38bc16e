"""ATLOP (Zhou et al., 2021): bilinear classifier with the adaptive-thresholding loss."""
from __future__ import annotations

from dataclasses import dataclass

from engine.model.adaptive_thresholding import adaptive_threshold_loss
from engine.model.backbone import PairRepresentation
from engine.model.features import Batch
from engine.model.grouped_bilinear import BilinearClassifier
from engine.model.methods.base import ClassifierOutput, MethodConfig, MethodSpec, ModelDims, RelationClassifier
from engine.model.methods.registry import register


@dataclass
class AtlopConfig(MethodConfig):
    """ATLOP has no settings beyond the shared bilinear ones."""


class AtlopClassifier(RelationClassifier):
    def __init__(self, config: AtlopConfig, dims: ModelDims) -> None:
        super().__init__(config)
        self.classifier = BilinearClassifier(dims.hidden_size, config.emb_size, config.block_size, dims.num_classes)

    def forward(self, rep: PairRepresentation, batch: Batch) -> ClassifierOutput:
        logits = self.classifier(rep).logits  # (n_p, n_classes)
        loss = adaptive_threshold_loss(logits.float(), batch.labels) if batch.labels is not None else None
        return ClassifierOutput(logits=logits, loss=loss)


register(MethodSpec("atlop.v1", "ATLOP: localized context pooling, grouped bilinear, adaptive-thresholding loss",
                    AtlopConfig, AtlopClassifier))
