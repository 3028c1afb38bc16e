"""What every method provides: a config, a relation classifier over the shared pair representation, its loss and its
decode rule. The trainer, checkpoints, predictor and CLI only ever see this interface."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
from torch import nn

from engine.config import ConfigBase, EncoderConfig, check, option
from engine.data.documents import Document
from engine.data.pair_extras import PairExtra, concat_extras
from engine.data.schema import RelationSchema
from engine.model.backbone import EntityRepresentation, PairRepresentation
from engine.model.features import Batch
from engine.model.thresholds import threshold_decode, threshold_probabilities


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
    """Sizes a relation classifier is built for."""

    hidden_size: int
    num_heads: int
    num_classes: int
    num_entity_types: int = 6
    encoder_name: str = ""  # for heads that own a second encoder (KMGRE's key-instance classifier)
    encoder: EncoderConfig | None = None  # the run's encoder settings, for such a second encoder
    fresh: bool = True  # a new model (pre-trained weights wanted) rather than one a checkpoint will fill


@dataclass
class ClassifierOutput:
    """logits: (n_pairs, n_classes), column 0 the "no relation" threshold; loss only when labels were given;
    extras: the method's raw extra outputs (tensors, index structures), turned into `PairExtra`s on the serve
    side by `collect_extras`."""

    logits: torch.Tensor
    loss: torch.Tensor | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    # the extras as PairExtra objects for every pair, filled at inference (RelationClassifier.infer) chunk by chunk
    collected: dict[str, PairExtra] = field(default_factory=dict)

    @classmethod
    def concat(cls, parts: Sequence["ClassifierOutput"]) -> "ClassifierOutput":
        """The outputs of consecutive pair chunks as one (inference: no loss). Raw extras that are per-pair
        tensors (a decode rule may read them) are concatenated; others were consumed per chunk by
        collect_extras, whose PairExtras are joined."""
        per_pair = [k for k, v in parts[0].extras.items()
                    if all(isinstance(p.extras.get(k), torch.Tensor) and p.extras[k].shape[:1] == p.logits.shape[:1]
                           for p in parts)]
        return cls(logits=torch.cat([p.logits for p in parts]),
                   extras={k: torch.cat([p.extras[k] for p in parts]) for k in per_pair},
                   collected=concat_extras([p.collected for p in parts]))

    def rows(self, rows: slice) -> "ClassifierOutput":
        """The outputs of pairs rows.start:rows.stop (views, no copies), to decode a huge output in parts."""
        return ClassifierOutput(logits=self.logits[rows], extras={k: v[rows] for k, v in self.extras.items()})


PairView = Callable[[Batch], PairRepresentation]  # the pair representation of a batch's (chunk of) pairs


class RelationClassifier(nn.Module):
    """Base relation classifier: threshold decoding and margin probabilities; methods override what their paper
    changes."""

    def __init__(self, config: MethodConfig) -> None:
        super().__init__()
        self.config = config

    def forward(self, rep: PairRepresentation, batch: Batch) -> ClassifierOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    def infer(self, pairs: PairView, batch: Batch, chunks: Sequence[slice]) -> ClassifierOutput:
        """Inference a chunk of pairs at a time, equal to forward on the whole batch (no labels): pairs are
        scored independently, so each chunk is a batch of its own. Heads whose pairs interact override it."""
        outputs = []
        for rows in chunks:
            sub = batch.select_pairs(rows)
            out = self(pairs(sub), sub)
            out.collected = self.collect_extras(out, sub)
            outputs.append(out)
        return ClassifierOutput.concat(outputs)

    def floats_per_pair(self, batch: Batch, entities: EntityRepresentation) -> int:
        """About how many values the classifier holds per pair of a chunk at inference, beyond the pair view
        (DocREModel.infer sizes chunks by it): extractor inputs and outputs and the logits."""
        return 4 * entities.entity.shape[-1] + 4 * self.config.emb_size + 256

    def on_train_progress(self, epoch: int, step: int) -> None:
        """Called by the trainer before every batch: heads with schedules (EM phases, warm-up) read it."""

    def warm_start_aliases(self) -> dict[str, str]:
        """{own prefix: source prefix} of state-dict names (the model's, so both start `encoder.` or
        `classifier.`) that a warm start also fills from the source: a head with a second encoder (KMGRE's key
        encoder) starts from the source's trained encoder instead of the bare pre-trained one."""
        return {}

    def decode(self, out: ClassifierOutput) -> torch.Tensor:
        """(n_pairs, R) bool predicted relations."""
        return threshold_decode(out.logits, self.config.top_k)

    def probabilities(self, out: ClassifierOutput) -> torch.Tensor:
        """(n_pairs, n_classes) the method's probabilities."""
        return threshold_probabilities(out.logits)

    def collect_extras(self, out: ClassifierOutput, batch: Batch) -> dict[str, PairExtra]:
        """The extras declared in the method's spec, for every pair of the batch (the predictor slices them
        per document); building them is output work, kept out of `forward`."""
        return {}


@dataclass(frozen=True)
class MethodSpec:
    """A registered method under a versioned name such as `atlop.v1`."""

    name: str
    description: str
    config_class: type[MethodConfig]
    build: Callable[[MethodConfig, ModelDims], RelationClassifier]
    # Fills data-dependent settings before the model is built: (config, training documents, schema,
    # share of triples hidden) -> config. P3M estimates its class priors here.
    prepare: Callable[[MethodConfig, Sequence[Document], RelationSchema, float], MethodConfig] | None = None
    # The extras the classifier's collect_extras returns: key -> (PairExtra kind, what it means), for
    # `methods --verbose`.
    extras: tuple[tuple[str, type[PairExtra], str], ...] = ()
