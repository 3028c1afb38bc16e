"""What every method provides: a config, a head over the shared pair representation, its loss and its
decode rule. The trainer, checkpoints, predictor and CLI only ever see this interface."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from engine.model.backbone import EntityRepresentation, PairRepresentation
from engine.config import ConfigBase, check, option
from engine.data.documents import Document
from engine.model.features import Batch
from engine.model.thresholds import threshold_decode, threshold_probabilities
from engine.data.schema import RelationSchema


@dataclass
class MethodConfig(ConfigBase):
    """Settings every bilinear-style method shares; methods subclass it with their own."""

    emb_size: int = option(768, "size of the head/tail extractor outputs z_s, z_o")
    block_size: int = option(64, "group size of the grouped bilinear (emb_size must be a multiple)")
    top_k: int = option(4, "decode at most this many relations per pair (0 = all above the threshold)")

    def validate(self) -> None:
        check(self.emb_size > 0 and self.block_size > 0 and self.emb_size % self.block_size == 0,
              f"emb_size ({self.emb_size}) must be a positive multiple of block_size ({self.block_size})")
        check(self.top_k >= 0, f"top_k must be >= 0, got {self.top_k}")


@dataclass(frozen=True)
class ModelDims:
    """Sizes a head is built for."""

    hidden_size: int
    num_heads: int
    num_classes: int
    num_entity_types: int = 6
    encoder_name: str = ""  # for heads that own a second encoder (KMGRE's key-instance classifier)


@dataclass
class HeadOutput:
    """logits/probabilities: (n_pairs, n_classes), column 0 the "no relation" threshold; loss only with labels."""

    logits: torch.Tensor
    loss: torch.Tensor | None = None
    pair_potential: torch.Tensor | None = None  # (n_pairs,) PAEE
    mention_grids: list | None = None  # per pair MentionPairGrid, KMGRE

    @classmethod
    def concat(cls, parts: Sequence["HeadOutput"]) -> "HeadOutput":
        """The outputs of consecutive pair chunks as one (inference: no loss)."""
        potentials = [p.pair_potential for p in parts]
        grids = [p.mention_grids for p in parts]
        return cls(logits=torch.cat([p.logits for p in parts]),
                   pair_potential=None if potentials[0] is None else torch.cat(potentials),
                   mention_grids=None if grids[0] is None else [g for part in grids for g in part])


    def rows(self, rows: slice) -> "HeadOutput":
        """The outputs of pairs rows.start:rows.stop (views, no copies), to decode a huge output in parts."""
        return HeadOutput(logits=self.logits[rows],
                          pair_potential=None if self.pair_potential is None else self.pair_potential[rows],
                          mention_grids=None if self.mention_grids is None else self.mention_grids[rows])


PairView = Callable[[Batch], PairRepresentation]  # the pair representation of a batch's (chunk of) pairs


class MethodHead(nn.Module):
    """Base head: threshold decoding and margin probabilities; methods override what their paper changes."""

    def __init__(self, config: MethodConfig) -> None:
        super().__init__()
        self.config = config

    def forward(self, rep: PairRepresentation, batch: Batch) -> HeadOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    def infer(self, pairs: PairView, batch: Batch, chunks: Sequence[slice]) -> HeadOutput:
        """Inference a chunk of pairs at a time, equal to forward on the whole batch (no labels): pairs are
        scored independently, so each chunk is a batch of its own. Heads whose pairs interact override it."""
        outputs = []
        for rows in chunks:
            sub = batch.select_pairs(rows)
            outputs.append(self(pairs(sub), sub))
        return HeadOutput.concat(outputs)

    def floats_per_pair(self, batch: Batch, entities: EntityRepresentation) -> int:
        """About how many values the head holds per pair of a chunk at inference, beyond the pair view
        (DocREModel.infer sizes chunks by it): extractor inputs and outputs and the logits."""
        return 4 * entities.entity.shape[-1] + 4 * self.config.emb_size + 256

    def on_train_progress(self, epoch: int, step: int) -> None:
        """Called by the trainer before every batch: heads with schedules (EM phases, warm-up) read it."""

    def decode(self, out: HeadOutput) -> torch.Tensor:
        """(n_pairs, R) bool predicted relations."""
        return threshold_decode(out.logits, self.config.top_k)

    def probabilities(self, out: HeadOutput) -> torch.Tensor:
        """(n_pairs, n_classes) the method's probabilities."""
        return threshold_probabilities(out.logits)


@dataclass(frozen=True)
class MethodSpec:
    """A registered method under a versioned name such as `atlop.v1`."""

    name: str
    description: str
    config_class: type[MethodConfig]
    build: Callable[[MethodConfig, ModelDims], MethodHead]
    # Fills data-dependent settings before the model is built: (config, training documents, schema,
    # share of triples hidden) -> config. P3M estimates its class priors here.
    prepare: Callable[[MethodConfig, Sequence[Document], RelationSchema, float], MethodConfig] | None = None
