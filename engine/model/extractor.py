"""The whole relation extractor: encoder -> ATLOP backbone -> a method's head."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.model.backbone import AtlopBackbone
from engine.model.encoder import DocumentEncoder
from engine.model.features import Batch
from engine.model.methods import HeadOutput, MethodHead


@dataclass
class ModelOutput:
    """head: the method's output (logits (n_pairs, n_classes), loss when labels were given, extras)."""

    head: HeadOutput

    @property
    def loss(self) -> torch.Tensor | None:
        return self.head.loss

    @property
    def logits(self) -> torch.Tensor:
        return self.head.logits


class DocREModel(nn.Module):
    def __init__(self, encoder: DocumentEncoder, head: MethodHead) -> None:
        super().__init__()
        self.encoder = encoder
        self.backbone = AtlopBackbone()
        self.head = head

    def forward(self, batch: Batch) -> ModelOutput:
        encoded = self.encoder(batch)
        rep = self.backbone(encoded, batch)
        return ModelOutput(head=self.head(rep, batch))
