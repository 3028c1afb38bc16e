"""The whole relation extractor: encoder -> ATLOP backbone -> the method's relation classifier. ("head" and
"tail" always mean the two entities of a pair; the module on top of the backbone is the classifier.)"""
from __future__ import annotations

from collections.abc import Callable

from torch import nn

from engine.model.backbone import AtlopBackbone, EntityRepresentation, PairRepresentation
from engine.model.encoder import DocumentEncoder
from engine.model.features import Batch
from engine.model.methods import ClassifierOutput, RelationClassifier


class DocREModel(nn.Module):
    def __init__(self, encoder: DocumentEncoder, classifier: RelationClassifier) -> None:
        super().__init__()
        self.encoder = encoder
        self.backbone = AtlopBackbone()
        self.classifier = classifier

    def forward(self, batch: Batch) -> ClassifierOutput:
        encoded = self.encoder(batch)
        rep = self.backbone(encoded, batch)
        return self.classifier(rep, batch)

    def infer(self, batch: Batch, memory_budget: int,
              on_pairs: Callable[[int], None] | None = None) -> ClassifierOutput:
        """forward without labels, the pairs a chunk at a time so that the pair view and the classifier's per-pair
        tensors hold about memory_budget bytes whatever the document: a 1,800-entity text has 3.2 million
        ordered pairs, and its (n_pairs, L) attention products alone were tens of GB. Only the outputs,
        (n_pairs, n_classes), are whole; the method's extras come back collected (ClassifierOutput.collected).
        Equal to forward (tests/engine/model/test_chunked_inference.py). `on_pairs(n)` hears of each chunk's
        n pairs once its pair view (the costly part) is built: progress within one long document."""
        encoded = self.encoder(batch)
        entities = self.backbone.entities(encoded, batch)
        chunk = self.pair_chunk_size(batch, entities, memory_budget)
        n_pairs = batch.num_pairs
        chunks = [slice(start, min(start + chunk, n_pairs)) for start in range(0, n_pairs, chunk)] or [slice(0, 0)]

        def pair_view(sub: Batch) -> PairRepresentation:
            view = self.backbone.pairs(entities, sub)
            if on_pairs is not None:
                on_pairs(sub.num_pairs)
            return view

        return self.classifier.infer(pair_view, batch, chunks)

    def pair_chunk_size(self, batch: Batch, entities: EntityRepresentation, memory_budget: int) -> int:
        """Pairs per chunk so that one chunk holds about memory_budget bytes (at least one pair)."""
        length, hidden = entities.states.shape[1], entities.states.shape[2]
        # per pair: q and its per-head temporaries, the normalised copy, its padding and context_attention
        # (6 rows of L), head, tail and context states (4 of d), and what the classifier holds; 4 bytes a value
        values = 6 * length + 4 * hidden + self.classifier.floats_per_pair(batch, entities)
        return max(1, memory_budget // (4 * values))
