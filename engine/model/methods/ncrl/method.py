"""NCRL (Zhou and Lee, 2022): ATLOP's bilinear classifier trained with the None Class Ranking Loss, margin
regularisation and margin shifting. Decode as ATLOP: relations whose logit exceeds the none-class logit;
probabilities sigmoid(f_i - f_0), which is NCRL's own P(y_i = 1 | x) (Theorem 1)."""
from __future__ import annotations

from dataclasses import dataclass

from engine.config import check, option
from engine.model.backbone import PairRepresentation
from engine.model.features import Batch
from engine.model.grouped_bilinear import BilinearClassifier
from engine.model.methods.base import ClassifierOutput, MethodConfig, MethodSpec, ModelDims, RelationClassifier
from engine.model.methods.ncrl.loss import ncrl_loss
from engine.model.methods.registry import register


@dataclass
class NcrlConfig(MethodConfig):
    """NCRL's loss settings (the authors' DocRED runs: gamma = 0.05, regularisation on)."""

    margin_shift: float = option(0.05, "gamma of margin shifting (Eq. 6): negatives' probabilities + gamma, clamped "
                                       "at 1; 0 = off (the paper searched {0, 0.01, 0.05})")
    margin_regularization: bool = option(True, "add the margin regularisation term of Eq. 5 (none class vs the mean "
                                               "relation score)")

    def validate(self) -> None:
        super().validate()
        check(0.0 <= self.margin_shift < 1.0, f"margin_shift must be in [0, 1), got {self.margin_shift}")


class NcrlClassifier(RelationClassifier):
    def __init__(self, config: NcrlConfig, dims: ModelDims) -> None:
        super().__init__(config)
        self.classifier = BilinearClassifier(dims.hidden_size, config.emb_size, config.block_size, dims.num_classes)

    def forward(self, rep: PairRepresentation, batch: Batch) -> ClassifierOutput:
        logits = self.classifier(rep).logits  # (n_p, n_classes)
        loss = None
        if batch.labels is not None:
            loss = ncrl_loss(logits.float(), batch.labels.float(), shift=self.config.margin_shift,
                             margin_regularization=self.config.margin_regularization)
        return ClassifierOutput(logits=logits, loss=loss)


register(MethodSpec("ncrl.v1",
                    "NCRL: ATLOP classifier, none-class ranking loss with margin regularisation and shifting",
                    NcrlConfig, NcrlClassifier))
