"""KMGRE (Jiang et al., COLING 2022): a mention-level relation extractor and a key-instance classifier,
trained by EM (Algorithm 1). No public code: built from the paper's equations.

Schedule (`on_train_progress`): `warmup_epochs` epochs train both modules together (the paper trains both
"for several epochs before using the EM algorithm" without saying how: here the extractor on all mention
pairs fused, Eq. 16 with X_pos = X, plus the classifier on Eq. 9's pseudo labels). Then whole epochs
alternate, as Algorithm 1 loops over the train set once per step: an E-step epoch updates only the
classifier (omega, focal loss Eq. 10-11), an M-step epoch only the extractor (theta, Eq. 12-19).
tau = tau_max (1 - tau_decay^step) on the trainer's optimisation step (Sec. 4.3), 0 during warm-up, which
puts every mention pair in X_pos. tau is a buffer, so a saved model scores as it last trained.

Entity-pair logits (matrix and threshold views, decoding) are the fused logits of Eq. 16 over the key
mention pairs, column 0 the threshold class TH. Mention-level probabilities are sigmoid(s_c - s_TH), Eq. 6
with the mention pair's own threshold logit as zero point: the loss (Eq. 17-19) fixes logits only relative
to TH, so the raw sigmoid(s_c) would carry an arbitrary offset. Eq. 9 compares these per relation."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.model.backbone import EntityRepresentation, PairRepresentation
from engine.config import EncoderConfig, check, option
from engine.model.encoder import DocumentEncoder, load_hf
from engine.errors import ConfigError
from engine.model.features import Batch
from engine.model.methods.kmgre.mention_pairs import KeyInstanceClassifier, build_mention_pairs, mention_pair_features, to_mention_grids
from engine.model.methods.kmgre.loss import fuse_key_logits, key_focal_loss, key_pseudo_labels, split_key_pairs, threshold_class_loss
from engine.model.methods.registry import register
from engine.model.methods.base import HeadOutput, MethodConfig, MethodHead, MethodSpec, ModelDims

WARMUP, E_STEP, M_STEP = "warmup", "e-step", "m-step"


@dataclass
class KmgreConfig(MethodConfig):
    """KMGRE's settings (paper: alpha 0.3, gamma 2, xi 0.15 on Revisit-DocRED and 0.1 on DWIE). The shared
    emb_size/block_size are unused: Eq. 6 and Eq. 8 are linear layers."""

    key_encoder: str = option("shared", "'separate': the key-instance classifier gets its own copy of the encoder (the "
                                        "paper; twice the encoder cost); 'shared': it reads the relation extractor's "
                                        "encoder detached, so its gradients never reach that encoder (cheaper)")
    warmup_epochs: int = option(2, "epochs training extractor and classifier together before EM alternates")
    em_alternation: str = option("epoch", "'epoch': E- and M-steps alternate per epoch (Algorithm 1); 'step': per "
                                          "optimisation step (for short runs)")
    focal_alpha: float = option(0.3, "alpha_omega of the key-instance focal loss (Eq. 10)")
    focal_gamma: float = option(2.0, "gamma_omega of the key-instance focal loss (Eq. 10)")
    xi: float = option(0.15, "relaxation xi of the key threshold (Eq. 13)")
    tau_max: float = option(0.5, "tau's limit in tau = tau_max (1 - tau_decay^step) (Eq. 13, Sec. 4.3)")
    tau_decay: float = option(0.999, "tau_decay in tau = tau_max (1 - tau_decay^step)")
    max_mention_pairs: int = option(64, "mention pairs scored per entity pair (0 = all); beyond it the pairs whose "
                                        "mentions are closest in tokens are kept, the rest dropped (probability 0)")

    def validate(self) -> None:
        super().validate()
        check(self.key_encoder in ("shared", "separate"), f"key_encoder must be 'shared' or 'separate', got {self.key_encoder!r}")
        check(self.em_alternation in ("epoch", "step"), f"em_alternation must be 'epoch' or 'step', got {self.em_alternation!r}")
        check(self.warmup_epochs >= 0, f"warmup_epochs must be >= 0, got {self.warmup_epochs}")
        check(self.focal_alpha > 0 and self.focal_gamma >= 0, "focal_alpha must be > 0 and focal_gamma >= 0")
        check(self.xi >= 0, f"xi must be >= 0, got {self.xi}")
        check(0 < self.tau_max <= 1 and 0 < self.tau_decay < 1, "tau_max must be in (0, 1] and tau_decay in (0, 1)")
        check(self.max_mention_pairs >= 0, f"max_mention_pairs must be >= 0, got {self.max_mention_pairs}")


class KmgreHead(MethodHead):
    def __init__(self, config: KmgreConfig, dims: ModelDims) -> None:
        super().__init__(config)
        self.extractor = nn.Linear(3 * dims.hidden_size, dims.num_classes)  # Eq. 6: w_c, b_c; class 0 = TH
        key_encoder = None
        if config.key_encoder == "separate":
            if not dims.encoder_name:
                raise ConfigError("key_encoder='separate' needs the encoder's name to load a second copy")
            key_encoder = DocumentEncoder(load_hf(dims.encoder_name)[1], EncoderConfig(name=dims.encoder_name))
        self.key_classifier = KeyInstanceClassifier(dims.hidden_size, key_encoder)
        self.register_buffer("tau", torch.zeros(()))  # Eq. 13's tau as last trained; 0 = every pair is key
        self.phase = WARMUP

    def on_train_progress(self, epoch: int, step: int) -> None:
        cfg = self.config
        if epoch < cfg.warmup_epochs:
            self.phase = WARMUP
            self.tau.fill_(0.0)
            return
        turn = epoch - cfg.warmup_epochs if cfg.em_alternation == "epoch" else step
        self.phase = E_STEP if turn % 2 == 0 else M_STEP
        self.tau.fill_(cfg.tau_max * (1.0 - cfg.tau_decay ** step))

    def forward(self, rep: PairRepresentation, batch: Batch) -> HeadOutput:
        cfg = self.config
        index = build_mention_pairs(batch, cfg.max_mention_pairs)
        mask = index.mask  # (n_p, G)
        training = self.training and batch.labels is not None
        with torch.set_grad_enabled(torch.is_grad_enabled() and not (training and self.phase == E_STEP)):
            features = mention_pair_features(rep, index)  # (n_mp, 3d); no graph when only omega learns
            logits = self.extractor(features)  # (n_mp, C) Eq. 6 before the sigmoid
        with torch.set_grad_enabled(torch.is_grad_enabled() and training and self.phase != M_STEP):
            key_logits = self.key_classifier(features, batch, index).float()  # (n_mp,)
        key_probability = index.pad(torch.sigmoid(key_logits), 0.0)  # (n_p, G)
        positive = split_key_pairs(key_probability.detach(), mask, xi=cfg.xi, tau=float(self.tau))  # (n_p, G) X_pos
        fused = fuse_key_logits(index.pad(logits.float(), 0.0), positive)  # (n_p, C) Eq. 16
        relation_probability = torch.sigmoid(logits[:, 1:] - logits[:, :1]).float()  # (n_mp, R)

        loss = None
        if batch.labels is not None:
            labels = batch.labels.float()
            parts = []
            if not training or self.phase != E_STEP:  # theta: Eq. 17-19 on the fused logits
                parts.append(threshold_class_loss(fused, labels))
            if training and self.phase != M_STEP:  # omega: Eq. 9-11
                pseudo = key_pseudo_labels(index.pad(relation_probability.detach(), 0.0), labels, mask)  # (n_p, G)
                parts.append(key_focal_loss(index.pad(key_logits, 0.0), pseudo, mask,
                                            alpha=cfg.focal_alpha, gamma=cfg.focal_gamma))
            loss = sum(parts)
        grids = None
        if not self.training:
            grids = to_mention_grids(index, batch, torch.sigmoid(key_logits), relation_probability)
        return HeadOutput(logits=fused, loss=loss, mention_grids=grids)


    def floats_per_pair(self, batch: Batch, entities: EntityRepresentation) -> int:
        """Per entity pair, its mention pairs' (heads, L) attention products (gathered twice, multiplied,
        normalised) and features, plus build_mention_pairs' (k x k) distances and ranks."""
        k = int(batch.entity_mention_mask.shape[1])
        kept = min(k * k, self.config.max_mention_pairs) if self.config.max_mention_pairs else k * k
        heads, length, hidden = entities.mention_attention.shape[1], entities.states.shape[1], entities.states.shape[2]
        return 8 * k * k + kept * (4 * heads * length + 2 * length + 12 * hidden) + 256


register(MethodSpec("kmgre.v1", "KMGRE: mention-level extractor and key-instance classifier trained by EM, "
                                "logsumexp fusion of key mention pairs, adaptive-thresholding loss",
                    KmgreConfig, KmgreHead))
