"""KMGRE (Jiang et al., COLING 2022): a mention-level relation extractor and a key-instance classifier,
trained by EM (Algorithm 1). No public code: built from the paper's equations.

Schedule (`on_train_progress`, schedule.py): `warmup_epochs` epochs train both modules together (the paper
trains both "for several epochs before using the EM algorithm" without saying how: here the extractor on all
mention pairs fused, Eq. 16 with X_pos = X, plus the classifier on Eq. 9's pseudo labels). Then whole epochs
alternate, as Algorithm 1 loops over the train set once per step: an E-step epoch updates only the
classifier (omega, focal loss Eq. 10-11), an M-step epoch only the extractor (theta, Eq. 12-19). tau is 0
during warm-up, which puts every mention pair in X_pos, then ramps to tau_max (schedule.py). tau is a
buffer, so a saved model scores as it last trained.

Two registered versions share this head and differ only in their defaults:
- kmgre.v2 (new runs): the paper's configuration, a separate key encoder and tau counted on E-step updates,
  reaching 99% of its limit after `tau_rampup_epochs` E-step epochs; `shared` is an MLP on detached features.
- kmgre.v1 (the shipped model, assets/models/kmgre): shared encoder with a linear probe, tau on the global
  step. Its saved configs lack the newer keys, so they take v1's defaults and load to the same model.

Entity-pair logits (matrix and threshold views, decoding) are the fused logits of Eq. 16 over the key
mention pairs, column 0 the threshold class TH. Mention-level probabilities are sigmoid(s_c - s_TH), Eq. 6
with the mention pair's own threshold logit as zero point: the loss (Eq. 17-19) fixes logits only relative
to TH, so the raw sigmoid(s_c) would carry an arbitrary offset. Eq. 9 compares these per relation."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from engine.config import EncoderConfig, check, option
from engine.data.pair_extras import MentionGrids, PairExtra
from engine.errors import ConfigError
from engine.model.backbone import EntityRepresentation, PairRepresentation
from engine.model.encoder import DocumentEncoder, load_hf
from engine.model.features import Batch
from engine.model.methods.base import ClassifierOutput, MethodConfig, MethodSpec, ModelDims, RelationClassifier
from engine.model.methods.kmgre.loss import (
    fuse_key_logits,
    key_focal_loss,
    key_pseudo_labels,
    split_key_pairs,
    threshold_class_loss,
)
from engine.model.methods.kmgre.mention_pairs import (
    KeyInstanceClassifier,
    build_mention_pairs,
    mention_pair_features,
    to_mention_grids,
)
from engine.model.methods.kmgre.schedule import Alternation, EmSchedule, Phase, TauSchedule
from engine.model.methods.registry import register

GRIDS_LABEL = "key mention pairs"
KEY_ENCODERS = ("separate", "shared")


@dataclass
class KmgreConfig(MethodConfig):
    """kmgre.v2: the paper's settings (alpha 0.3, gamma 2, xi 0.15 on Revisit-DocRED and 0.1 on DWIE; a
    second encoder for the key-instance classifier; tau ramped on E-steps). The shared emb_size/block_size
    are unused: Eq. 6 and Eq. 8 are linear layers."""

    key_encoder: str = option("separate", "'separate': the key-instance classifier gets its own copy of the encoder "
                                          "(the paper; twice the encoder cost); 'shared': an MLP on the relation "
                                          "extractor's features, detached so its loss never reaches that encoder")
    key_mlp_hidden: int = option(256, "hidden units of the key-instance MLP with key_encoder=shared (kmgre.v1: 0, a "
                                      "linear probe); unused with 'separate', where Eq. 8 is linear")
    warmup_epochs: int = option(2, "epochs training extractor and classifier together before EM alternates")
    em_alternation: str = option("epoch", "'epoch': E- and M-steps alternate per epoch (Algorithm 1); 'step': per "
                                          "optimisation step (for short runs)")
    focal_alpha: float = option(0.3, "alpha_omega of the key-instance focal loss (Eq. 10)")
    focal_gamma: float = option(2.0, "gamma_omega of the key-instance focal loss (Eq. 10)")
    xi: float = option(0.15, "relaxation xi of the key threshold (Eq. 13)")
    tau_max: float = option(0.5, "tau's limit (Eq. 13, Sec. 4.3: 0.5)")
    tau_schedule: str = option("e_step", "'e_step': tau = tau_max (1 - 0.01^(n / N)), n the E-step updates so far "
                                         "(Algorithm 1 updates tau in the E-step), N = tau_rampup_epochs epochs of "
                                         "steps; 'global_step': tau_max (1 - tau_decay^step), kmgre.v1's")
    tau_rampup_epochs: float = option(2.0, "E-step epochs after which tau is within 1% of tau_max (e_step schedule; "
                                           "the paper's 0.999^step takes about 6 on Revisit-DocRED)")
    tau_decay: float = option(0.999, "tau_decay of the global_step schedule")
    max_mention_pairs: int = option(64, "mention pairs scored per entity pair (0 = all); beyond it the pairs whose "
                                        "mentions are closest in tokens are kept, the rest dropped (probability 0)")

    LINEAR_PROBE: ClassVar[bool] = False  # v2: `shared` is an MLP, never v1's probe of ~3d + 1 parameters

    def validate(self) -> None:
        super().validate()
        check(self.key_encoder in KEY_ENCODERS, f"key_encoder must be one of {KEY_ENCODERS}, got {self.key_encoder!r}")
        check(self.key_mlp_hidden >= 0, f"key_mlp_hidden must be >= 0, got {self.key_mlp_hidden}")
        check(self.key_encoder != "shared" or self.key_mlp_hidden > 0 or self.LINEAR_PROBE,
              "key_encoder='shared' needs key_mlp_hidden > 0: a linear probe on detached features learns ~3d + 1 "
              "parameters per E-step epoch (kmgre.v1 keeps it for its shipped model)")
        check(self.em_alternation in {a.value for a in Alternation},
              f"em_alternation must be 'epoch' or 'step', got {self.em_alternation!r}")
        check(self.tau_schedule in {t.value for t in TauSchedule},
              f"tau_schedule must be 'e_step' or 'global_step', got {self.tau_schedule!r}")
        check(self.warmup_epochs >= 0, f"warmup_epochs must be >= 0, got {self.warmup_epochs}")
        check(self.tau_schedule != TauSchedule.E_STEP or self.warmup_epochs >= 1,
              "tau_schedule='e_step' measures its ramp in epochs and learns an epoch's length from the warm-up: "
              "set warmup_epochs >= 1 (the paper warms up several epochs) or tau_schedule='global_step'")
        check(self.focal_alpha > 0 and self.focal_gamma >= 0, "focal_alpha must be > 0 and focal_gamma >= 0")
        check(self.xi >= 0, f"xi must be >= 0, got {self.xi}")
        check(0 < self.tau_max <= 1 and 0 < self.tau_decay < 1, "tau_max must be in (0, 1] and tau_decay in (0, 1)")
        check(self.tau_rampup_epochs > 0, f"tau_rampup_epochs must be > 0, got {self.tau_rampup_epochs}")
        check(self.max_mention_pairs >= 0, f"max_mention_pairs must be >= 0, got {self.max_mention_pairs}")


@dataclass
class KmgreV1Config(KmgreConfig):
    """kmgre.v1, the shipped model's method: a shared encoder read by a linear probe, tau on the global step.
    Saved v1 configs predate key_mlp_hidden, tau_schedule and tau_rampup_epochs, so these defaults are what
    they were trained with."""

    LINEAR_PROBE: ClassVar[bool] = True

    key_encoder: str = option("shared", "'shared': a linear probe (key_mlp_hidden = 0) or MLP on the relation "
                                        "extractor's detached features; 'separate': a second encoder")
    key_mlp_hidden: int = option(0, "hidden units of the key-instance MLP with key_encoder=shared; 0 = linear probe")
    tau_schedule: str = option("global_step", "'global_step': tau_max (1 - tau_decay^step); 'e_step': kmgre.v2's")


def key_encoder_for(dims: ModelDims, encoder_config: EncoderConfig | None = None, pretrained: bool | None = None
                    ) -> DocumentEncoder:
    """The separate key encoder: the run's encoder settings and, for a fresh model only, the pre-trained weights
    (a model rebuilt from a checkpoint gets the architecture alone; its saved weights replace it anyway).

    `dims.encoder` / `dims.fresh` carry both (build_model and load_checkpoint fill them); explicit arguments win."""
    if encoder_config is None:
        encoder_config = dims.encoder or EncoderConfig(name=dims.encoder_name)
    if pretrained is None:
        pretrained = dims.fresh
    if not encoder_config.name:
        raise ConfigError("key_encoder='separate' needs the encoder's name to build a second copy")
    return DocumentEncoder(load_hf(encoder_config.name, pretrained_weights=pretrained)[1], encoder_config)


class KmgreClassifier(RelationClassifier):
    def __init__(self, config: KmgreConfig, dims: ModelDims, *, encoder_config: EncoderConfig | None = None,
                 pretrained: bool | None = None) -> None:
        super().__init__(config)
        self.extractor = nn.Linear(3 * dims.hidden_size, dims.num_classes)  # Eq. 6: w_c, b_c; class 0 = TH
        key_encoder = None
        if config.key_encoder == "separate":
            key_encoder = key_encoder_for(dims, encoder_config, pretrained)
        self.key_classifier = KeyInstanceClassifier(dims.hidden_size, key_encoder, mlp_hidden=config.key_mlp_hidden)
        self.register_buffer("tau", torch.zeros(()))  # Eq. 13's tau as last trained; 0 = every pair is key
        self.phase = Phase.WARMUP
        self.schedule = EmSchedule(config.warmup_epochs, config.em_alternation, config.tau_schedule, config.tau_max,
                                   config.tau_decay, config.tau_rampup_epochs)

    def warm_start_aliases(self) -> dict[str, str]:
        """The separate key encoder starts from the warm start's encoder, as the relation extractor's does.
        The paper initialises both PLMs alike (Sec. 4.3: both are BERT-base; Fig. 2: two PLMs that do not share
        parameters); under --init-from the counterpart of the pre-trained PLM is the source's trained encoder.
        Without this the key encoder started bare (the grid's full-kmgre-s0: 100 of 207 tensors copied)."""
        if self.key_classifier.encoder is None:
            return {}
        return {"classifier.key_classifier.encoder.": "encoder."}

    def on_train_progress(self, epoch: int, step: int) -> None:
        self.phase, tau = self.schedule(epoch, step)
        self.tau.fill_(tau)

    def forward(self, rep: PairRepresentation, batch: Batch) -> ClassifierOutput:
        cfg = self.config
        index = build_mention_pairs(batch, cfg.max_mention_pairs)
        mask = index.mask  # (n_p, G)
        training = self.training and batch.labels is not None
        with torch.set_grad_enabled(torch.is_grad_enabled() and not (training and self.phase is Phase.E_STEP)):
            features = mention_pair_features(rep, index)  # (n_mp, 3d); no graph when only omega learns
            logits = self.extractor(features)  # (n_mp, C) Eq. 6 before the sigmoid
        with torch.set_grad_enabled(torch.is_grad_enabled() and training and self.phase is not Phase.M_STEP):
            key_logits = self.key_classifier(features, batch, index).float()  # (n_mp,)
        key_probability = index.pad(torch.sigmoid(key_logits), 0.0)  # (n_p, G)
        positive = split_key_pairs(key_probability.detach(), mask, xi=cfg.xi, tau=float(self.tau))  # (n_p, G) X_pos
        fused = fuse_key_logits(index.pad(logits.float(), 0.0), positive)  # (n_p, C) Eq. 16
        relation_probability = torch.sigmoid(logits[:, 1:] - logits[:, :1]).float()  # (n_mp, R)

        loss = None
        if batch.labels is not None:
            labels = batch.labels.float()
            parts = []
            if not training or self.phase is not Phase.E_STEP:  # theta: Eq. 17-19 on the fused logits
                parts.append(threshold_class_loss(fused, labels))
            if training and self.phase is not Phase.M_STEP:  # omega: Eq. 9-11
                pseudo = key_pseudo_labels(index.pad(relation_probability.detach(), 0.0), labels, mask)  # (n_p, G)
                parts.append(key_focal_loss(index.pad(key_logits, 0.0), pseudo, mask,
                                            alpha=cfg.focal_alpha, gamma=cfg.focal_gamma))
            loss = sum(parts)
        extras = {}
        if not self.training:  # raw material for the key-mention view; collect_extras builds the grids
            extras = {"index": index, "key_probability": torch.sigmoid(key_logits),
                      "relation_probability": relation_probability}
        return ClassifierOutput(logits=fused, loss=loss, extras=extras)

    def collect_extras(self, out: ClassifierOutput, batch: Batch) -> dict[str, PairExtra]:
        raw = out.extras
        grids = to_mention_grids(raw["index"], batch, raw["key_probability"], raw["relation_probability"])
        return {"mention_grids": MentionGrids(GRIDS_LABEL, tuple(grids))}


    def floats_per_pair(self, batch: Batch, entities: EntityRepresentation) -> int:
        """Per entity pair, its mention pairs' (heads, L) attention products (gathered twice, multiplied,
        normalised) and features, plus build_mention_pairs' (k x k) distances and ranks."""
        k = int(batch.entity_mention_mask.shape[1])
        kept = min(k * k, self.config.max_mention_pairs) if self.config.max_mention_pairs else k * k
        heads, length, hidden = entities.mention_attention.shape[1], entities.states.shape[1], entities.states.shape[2]
        return 8 * k * k + kept * (4 * heads * length + 2 * length + 12 * hidden) + 256


DESCRIPTION = ("KMGRE: mention-level extractor and key-instance classifier trained by EM, logsumexp fusion of key "
               "mention pairs, adaptive-thresholding loss")
EXTRAS = (("mention_grids", MentionGrids, "per pair, each mention pair's key-instance and relation probabilities"),)
register(MethodSpec("kmgre.v1", DESCRIPTION + " (v1: shared encoder with a linear key probe, tau on the global step)",
                    KmgreV1Config, KmgreClassifier, extras=EXTRAS))
register(MethodSpec("kmgre.v2", DESCRIPTION + " (v2: the paper's separate key encoder, tau ramped on E-steps)",
                    KmgreConfig, KmgreClassifier, extras=EXTRAS))
