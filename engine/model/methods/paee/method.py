"""PAEE (Huang et al., 2022): Pair-Aware and Entity-Enhanced representations. No public code: built from
the paper's equations, with the readings documented in this package's pair_matrix.py, entity_enhance.py and
loss.py.

Forward: V(e_s, e_o) (Eq. 3) -> potential-pair probability and its 0/1 result at lambda (Eq. 5);
N x N matrix, sliding-window filling, U-Net standing in for TNet -> Y; Y_pair = [Y; 0/1] (Eq. 4);
Transformer over entities and sentences -> H^e (Eq. 6); Cross Matching -> e_sub = [H^e; F_sub],
e_obj = [H^e; F_obj] (Eq. 7); z_s = tanh(W_s e_sub + W_y Y_pair), z_o = tanh(W_o e_obj + W_y Y_pair) and a
bilinear classifier (Eq. 8, ATLOP's grouped bilinear with a threshold class), trained with Eq. 9 as printed:
the balanced softmax, which is not ATLOP's loss for pairs with several relations (loss.py). Eq. 8 adds
Y_{s,o} (size D' + 1) to W_s e_sub (size d) without saying how the sizes meet: W_y maps Y_pair to d.
The 0/1 potential result is a hard threshold, so only Eq. 10 trains the potential classifier."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from engine.config import check, option
from engine.data.pair_extras import PairExtra, PairValues
from engine.data.pair_scores import UNSCORED_MARGIN
from engine.errors import ConfigError
from engine.model.backbone import EntityRepresentation, PairRepresentation
from engine.model.features import Batch
from engine.model.grouped_bilinear import GroupedBilinear
from engine.model.methods.base import (
    ClassifierOutput,
    MethodConfig,
    MethodSpec,
    ModelDims,
    PairView,
    RelationClassifier,
)
from engine.model.methods.paee.entity_enhance import CrossMatching, RepresentationEnhancedEncoder, sentence_embeddings
from engine.model.methods.paee.loss import paee_loss
from engine.model.methods.paee.pair_matrix import (
    EntityPairFeatures,
    PairMatrix,
    PotentialPairClassifier,
    intra_sentence,
)
from engine.model.methods.registry import register

POTENTIAL_LABEL = "pair potential"


@dataclass
class PaeeConfig(MethodConfig):
    """Paper values where it gives them (lambda = 0.3, alpha = beta = gamma = 1, U-Net depth 2 as DocuNet).
    Sizes it leaves open, or gives for BERT-base (DocuNet: 256 U-Net channels), are smaller here for CPU."""

    pair_dim: int = option(128, "D, size of the entity-pair features V(e_s, e_o) (Eq. 3; not given in the paper)")
    matrix_in_dim: int = option(16, "D', channels W_2 reduces the matrix to before the U-Net (Eq. 4: D' << D)")
    matrix_channels: int = option(32, "U-Net channels at full resolution, doubled per level (DocuNet: 256)")
    matrix_out_dim: int = option(64, "channels of Y, the U-Net's output (DocuNet: 256)")
    matrix_depth: int = option(2,
                               "U-Net down-sampling levels (DocuNet: 2); matrices are padded to a multiple of 2^depth")
    sliding_window: bool = option(True,
                                  "sliding-window filling of the matrix; false = zero filling (the paper's 'w/o SW')")
    potential_threshold: float = option(0.3,
                                        "lambda: a pair is a potential relational pair above this probability (Eq. 5)")
    embed_dim: int = option(32, "size of the position and type embeddings of the potential-pair classifier (Eq. 5)")
    potential_hidden: int = option(128, "hidden size of the potential-pair classifier kappa")
    re_layers: int = option(1, "Transformer layers of the Representation-Enhanced Encoder (Eq. 6; not given)")
    re_heads: int = option(4, "its attention heads (must divide the encoder's hidden size)")
    re_ff_dim: int = option(1024, "its feed-forward size")
    dropout: float = option(0.1, "dropout inside the Representation-Enhanced Encoder")
    restrict_decode: bool = option(False, "decode relations only for pairs whose potential exceeds lambda (the paper's "
                                          "'constrains extraction to predicted pairs'; its equations only concatenate "
                                          "the 0/1); at inference the other pairs' relation logits are not computed")
    restrict_threshold: float | None = option(
        None, "the potential a pair must exceed to be scored when restrict_decode is on (default: lambda); lambda "
              "itself also feeds the model (Eq. 4), so a restriction is tuned here, never by changing lambda")
    alpha: float = option(1.0, "weight of the relation loss (Eq. 12)")
    beta: float = option(1.0, "weight of the potential-pair loss (Eq. 12)")
    gamma: float = option(1.0, "weight of the Cross Matching loss (Eq. 12)")

    def validate(self) -> None:
        super().validate()
        for name in ("pair_dim", "matrix_in_dim", "matrix_channels", "matrix_out_dim", "embed_dim", "potential_hidden",
                     "re_layers", "re_heads", "re_ff_dim"):
            check(getattr(self, name) > 0, f"{name} must be > 0, got {getattr(self, name)}")
        check(0 <= self.matrix_depth <= 4, f"matrix_depth must be in 0..4, got {self.matrix_depth}")
        check(0.0 < self.potential_threshold < 1.0,
              f"potential_threshold must be in (0, 1), got {self.potential_threshold}")
        check(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}")
        check(self.restrict_threshold is None or 0.0 <= self.restrict_threshold < 1.0,
              f"restrict_threshold must be in [0, 1), got {self.restrict_threshold}")
        check(min(self.alpha, self.beta, self.gamma) >= 0, "loss weights alpha, beta, gamma must be >= 0")


class PaeeClassifier(RelationClassifier):
    def __init__(self, config: PaeeConfig, dims: ModelDims) -> None:
        super().__init__(config)
        d, num_relations = dims.hidden_size, dims.num_classes - 1
        if d % config.re_heads:
            raise ConfigError(f"re_heads ({config.re_heads}) must divide the encoder's hidden size ({d}); "
                              f"pick a divisor such as {next(h for h in (8, 6, 4, 3, 2, 1) if d % h == 0)}")
        self.pair_features = EntityPairFeatures(d, config.pair_dim, dims.num_entity_types)
        self.potential = PotentialPairClassifier(d, config.pair_dim, config.embed_dim, dims.num_entity_types,
                                                 config.potential_hidden)
        self.matrix = PairMatrix(config.pair_dim, config.matrix_in_dim, config.matrix_channels, config.matrix_out_dim,
                                 config.matrix_depth, config.sliding_window)
        self.re_encoder = RepresentationEnhancedEncoder(d, config.re_heads, config.re_ff_dim, config.re_layers,
                                                        config.dropout)
        self.cross = CrossMatching(d, num_relations)
        self.pair_projection = nn.Linear(config.matrix_out_dim + 1, config.emb_size)  # W_y
        self.sub_extractor = nn.Linear(d + num_relations, config.emb_size)  # W_s
        self.obj_extractor = nn.Linear(d + num_relations, config.emb_size)  # W_o
        self.bilinear = GroupedBilinear(config.emb_size, config.block_size, dims.num_classes)
        self.num_classes = dims.num_classes

    def forward(self, rep: PairRepresentation, batch: Batch) -> ClassifierOutput:
        cfg = self.config
        intra = intra_sentence(batch)  # (n_p,)
        v = self.pair_features(rep, batch, intra)  # (n_p, D) Eq. 3
        potential_logits = self.potential(rep, v, batch, intra)  # (n_p,) Eq. 5
        potential = torch.sigmoid(potential_logits.float())  # (n_p,)
        sub_logits, obj_logits, sub_side, obj_side = self._entity_sides(rep, batch)
        logits = self._classify(self.matrix(v, batch), potential, sub_side, obj_side, batch.pair_head,
                                batch.pair_tail)  # (n_p, n_classes)
        loss = None
        if batch.labels is not None:
            loss = paee_loss(logits, potential_logits, sub_logits, obj_logits, batch.labels, batch.pair_head,
                             batch.pair_tail, alpha=cfg.alpha, beta=cfg.beta, gamma=cfg.gamma).total
        return ClassifierOutput(logits=logits, loss=loss, extras={"pair_potential": potential})

    def _entity_sides(self, rep: PairRepresentation, batch: Batch) -> tuple[torch.Tensor, ...]:
        """Eq. 6-7 per entity: Cross Matching logits F_sub, F_obj (n_e, R) and W_s e_sub, W_o e_obj (n_e, emb)."""
        entity = self.re_encoder(rep.entity, sentence_embeddings(rep.states, batch), batch)  # (n_e, d) Eq. 6
        sub_logits, obj_logits = self.cross(entity)  # (n_e, R) each, Eq. 7
        e_sub = torch.cat([entity, torch.sigmoid(sub_logits)], dim=-1)  # (n_e, d + R)
        e_obj = torch.cat([entity, torch.sigmoid(obj_logits)], dim=-1)  # (n_e, d + R)
        return sub_logits, obj_logits, self.sub_extractor(e_sub), self.obj_extractor(e_obj)

    def _classify(self, matrix: torch.Tensor, potential: torch.Tensor, sub_side: torch.Tensor, obj_side: torch.Tensor,
                  heads: torch.Tensor, tails: torch.Tensor) -> torch.Tensor:
        """Eq. 4 and 8: Y_pair = [Y; 0/1] (n_p, D_out + 1) -> z_s, z_o -> (n_p, n_classes) bilinear logits."""
        candidate = (potential > self.config.potential_threshold).to(matrix.dtype)  # (n_p,) P'_pair, 0/1
        y = self.pair_projection(torch.cat([matrix, candidate[:, None]], dim=-1))  # (n_p, emb)
        z_s = torch.tanh(sub_side[heads] + y)  # (n_p, emb) Eq. 8
        z_o = torch.tanh(obj_side[tails] + y)  # (n_p, emb)
        return self.bilinear(z_s, z_o).logits  # (n_p, n_classes)

    @property
    def restriction(self) -> float | None:
        """The potential a pair must exceed to be scored at inference, or None when every pair is."""
        cfg = self.config
        if not cfg.restrict_decode:
            return None
        return cfg.potential_threshold if cfg.restrict_threshold is None else cfg.restrict_threshold

    def _classify_scored(self, matrix: torch.Tensor, potential: torch.Tensor, sub_side: torch.Tensor,
                         obj_side: torch.Tensor, heads: torch.Tensor, tails: torch.Tensor) -> torch.Tensor:
        """_classify for the pairs the restriction keeps; the others get the unscored row (threshold class 0,
        relations UNSCORED_MARGIN).
        The grouped bilinear is most of the classifier's cost (bench/RESULTS.md), and on held-out documents a
        potential above 0.02 keeps about a fifth of the pairs."""
        floor = self.restriction
        if floor is None:
            return self._classify(matrix, potential, sub_side, obj_side, heads, tails)
        keep = (potential > floor).nonzero().squeeze(-1)  # (n_kept,)
        logits = torch.full((potential.shape[0], self.num_classes), UNSCORED_MARGIN, dtype=sub_side.dtype,
                            device=potential.device)
        logits[:, 0] = 0.0  # the threshold class: every relation sits UNSCORED_MARGIN below it
        if keep.numel():
            logits[keep] = self._classify(matrix[keep], potential[keep], sub_side, obj_side, heads[keep],
                                          tails[keep]).to(logits.dtype)
        return logits

    def infer(self, pairs: PairView, batch: Batch, chunks: Sequence[slice]) -> ClassifierOutput:
        """Two passes over the pair chunks, since Eq. 4's matrix sees every pair of a document at once. The
        first builds the pair view (the costly localized contexts) and keeps only the matrix input W_2 V
        (n_p, D') and the potentials (n_p,); the U-Net runs once; the second classifies chunk by chunk."""
        reduced, potentials, rep = [], [], None
        for rows in chunks:
            sub = batch.select_pairs(rows)
            rep = pairs(sub)
            intra = intra_sentence(sub)  # (n_c,)
            v = self.pair_features(rep, sub, intra)  # (n_c, D)
            potentials.append(torch.sigmoid(self.potential(rep, v, sub, intra).float()))  # (n_c,)
            reduced.append(self.matrix.reduce(v))  # (n_c, D')
        potential = torch.cat(potentials)  # (n_p,)
        matrix = self.matrix.from_reduced(torch.cat(reduced), batch)  # (n_p, D_out)
        _, _, sub_side, obj_side = self._entity_sides(rep, batch)  # entity-level: any chunk's view holds them
        logits = [self._classify_scored(matrix[rows], potential[rows], sub_side, obj_side, batch.pair_head[rows],
                                        batch.pair_tail[rows]) for rows in chunks]
        out = ClassifierOutput(logits=torch.cat(logits), extras={"pair_potential": potential})
        out.collected = self.collect_extras(out, batch)
        return out

    def floats_per_pair(self, batch: Batch, entities: EntityRepresentation) -> int:
        cfg = self.config
        n_sents = int(batch.sent_start.shape[0])  # intra_sentence's (n_c, n_sents) booleans, a quarter value each
        return (2 * entities.entity.shape[-1] + 6 * cfg.pair_dim + 3 * cfg.embed_dim + cfg.potential_hidden
                + n_sents // 4 + 4 * cfg.emb_size + 256)

    def decode(self, out: ClassifierOutput) -> torch.Tensor:
        decoded = super().decode(out)  # (n_p, R)
        if self.restriction is not None and "pair_potential" in out.extras:
            decoded &= (out.extras["pair_potential"] > self.restriction)[:, None]
        return decoded

    def collect_extras(self, out: ClassifierOutput, batch: Batch) -> dict[str, PairExtra]:
        return {"pair_potential": PairValues(POTENTIAL_LABEL, out.extras["pair_potential"].float().cpu().numpy())}


register(MethodSpec("paee.v1", "PAEE: entity-pair matrix with sliding-window filling and a U-Net (for TNet), potential-"
                    "pair prediction, entity/sentence Transformer, Cross Matching, adaptive-thresholding loss",
                    PaeeConfig, PaeeClassifier,
                    extras=(("pair_potential", PairValues,
                             "per pair, the potential that it holds any relation (Eq. 5)"),)))
