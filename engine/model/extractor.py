"""The whole relation extractor: encoder -> ATLOP backbone -> a method's head."""
from __future__ import annotations

from torch import nn

from engine.model.backbone import AtlopBackbone
from engine.model.encoder import DocumentEncoder
from engine.model.features import Batch
from engine.model.methods import HeadOutput, MethodHead


class DocREModel(nn.Module):
    def __init__(self, encoder: DocumentEncoder, head: MethodHead) -> None:
        super().__init__()
        self.encoder = encoder
        self.backbone = AtlopBackbone()
        self.head = head

    def forward(self, batch: Batch) -> HeadOutput:
        encoded = self.encoder(batch)
        rep = self.backbone(encoded, batch)
        return self.head(rep, batch)
