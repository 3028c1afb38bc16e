"""PEMSCL (Guo et al., 2023): ATLOP's bilinear classifier trained with the pairwise moving-threshold loss,
entropy minimisation, supervised contrastive learning and (optionally) negative label sampling.

The contrastive embedding x_{h,t} is, as the paper's Appendix D (Eq. 14) defines it, the grouped outer
product z_h (x) z_t that the classifier reads (GroupedBilinear.outer), with no extra projection; the loss reads it
through its factors (loss.GroupedOuter), which give the same similarities without forming it.
Decode as ATLOP; the probabilities sigmoid(f_r - f_eta) are the paper's P^r(r) (Eq. 3)."""
from __future__ import annotations

from dataclasses import dataclass

from engine.config import check, option
from engine.model.backbone import PairRepresentation
from engine.model.features import Batch
from engine.model.grouped_bilinear import BilinearClassifier
from engine.model.methods.base import ClassifierOutput, MethodConfig, MethodSpec, ModelDims, RelationClassifier
from engine.model.methods.pemscl.loss import GroupedOuter, pemscl_loss
from engine.model.methods.registry import register


@dataclass
class PemsclConfig(MethodConfig):
    """Defaults are the paper's best Re-DocRED settings (Table 5); its DocRED ones: tau 2.0, lambda 2.0, "one"."""

    temperature: float = option(0.2, "tau of the supervised contrastive loss (Eq. 8-9)")
    contrastive_weight: float = option(0.1, "lambda, weight of the contrastive loss L_2 (Eq. 11) as the paper weighs "
                                            "it: both L_1 and L_2 summed over the batch, then divided by its number "
                                            "of pairs; 0 = off")
    entropy_weighting: str = option("count", "gamma_1, gamma_2 of entropy minimisation (Eq. 6): 'one' = 1, "
                                             "'count' = |P| and |N| (each entropy sum becomes a mean)")
    negative_sample_ratio: float = option(1.0, "share of negative labels kept for NA pairs (Eq. 12); 1 keeps all, the "
                                               "paper uses 0.1 when NA labels are noisy (DocRED)")

    def validate(self) -> None:
        super().validate()
        check(self.temperature > 0, f"temperature must be > 0, got {self.temperature}")
        check(self.contrastive_weight >= 0, f"contrastive_weight must be >= 0, got {self.contrastive_weight}")
        check(self.entropy_weighting in ("one", "count"),
              f"entropy_weighting must be 'one' or 'count', got {self.entropy_weighting!r}")
        check(0.0 <= self.negative_sample_ratio <= 1.0,
              f"negative_sample_ratio must be in [0, 1], got {self.negative_sample_ratio}")


class PemsclClassifier(RelationClassifier):
    def __init__(self, config: PemsclConfig, dims: ModelDims) -> None:
        super().__init__(config)
        self.classifier = BilinearClassifier(dims.hidden_size, config.emb_size, config.block_size, dims.num_classes)

    def forward(self, rep: PairRepresentation, batch: Batch) -> ClassifierOutput:
        z_head, z_tail = self.classifier.extractor(rep)
        out = self.classifier.bilinear(z_head, z_tail)  # logits (n_p, n_classes), computed as ATLOP's
        loss = None
        if batch.labels is not None:
            cfg = self.config
            # the contrastive embedding is z_head (x) z_tail; its similarities come from the factors
            pairs = GroupedOuter(z_head, z_tail, cfg.emb_size // cfg.block_size)
            loss = pemscl_loss(out.logits.float(), pairs, batch.labels.float(),
                               temperature=cfg.temperature,
                               contrastive_weight=cfg.contrastive_weight, entropy_weighting=cfg.entropy_weighting,
                               negative_sample_ratio=cfg.negative_sample_ratio)
        return ClassifierOutput(logits=out.logits, loss=loss)


register(MethodSpec("pemscl.v1", "PEMSCL: ATLOP classifier, pairwise moving-threshold loss, entropy minimisation, "
                    "supervised contrastive loss, negative label sampling", PemsclConfig, PemsclClassifier))
