"""`Predictor.from_checkpoint(dir).predict(documents) -> list[PairScores]`: length-sorted batches under
inference mode, bf16 autocast where the hardware has native bf16 (see precision.py); the trainer's dev
evaluation uses the same path. Pairs are scored in chunks sized by a memory budget (DocREModel.infer), and a
document over the entity or token limit (engine/settings.py) is refused by name before anything runs."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from engine.data.documents import Document
from engine.data.margin_calibration import MarginCalibration
from engine.data.pair_scores import PairScores
from engine.data.schema import RelationSchema
from engine.errors import DocumentTooLargeError
from engine.model.checkpoint import LoadedModel, load_checkpoint
from engine.model.features import DocFeatures, collate
from engine.model.methods import ClassifierOutput
from engine.serve.numeric_precision import inference_autocast, resolve_precision
from engine.settings import get_settings, pick_device

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]  # (documents done, total)
PairProgress = Callable[[int], None]  # pairs just scored (a chunk's), as they go: progress within a long document
OUTPUT_ROWS = 65536  # pairs decoded at a time (about 25 MB of float32 logits per part with 97 classes)


def length_batches(lengths: Sequence[int], token_budget: int, max_docs: int) -> list[list[int]]:
    """Indices grouped longest first so each batch pads little; a batch holds at most token_budget padded tokens."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < max_docs and lengths[batches[-1][0]] * (len(batches[-1]) + 1) <= token_budget:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


class Predictor:
    """Scores every ordered entity pair of documents with one model."""

    def __init__(self, loaded: LoadedModel, device: str | None = None, *, precision: str | None = None,
                 token_budget: int | None = None, max_docs: int | None = None, max_entities: int | None = None,
                 max_tokens: int | None = None, pair_memory_mb: int | None = None) -> None:
        settings = get_settings()
        self.max_entities = max_entities or settings.max_entities
        self.max_tokens = max_tokens or settings.max_tokens
        self.pair_memory = (pair_memory_mb or settings.pair_memory_mb) * 2 ** 20  # bytes
        self.loaded = loaded
        self.device = torch.device(pick_device(device))
        self.precision = resolve_precision(precision, self.device)  # float32, bfloat16 or int8
        # A GPU needs big batches to be busy; on CPU small ones keep the pair tensors in cache.
        gpu = self.device.type == "cuda"
        token_budget = token_budget or (65536 if gpu else 4096)
        max_docs = max_docs or (256 if gpu else 16)
        self.loaded.model.to(self.device).eval()
        self.token_budget, self.max_docs = token_budget, max_docs
        # the checkpoint's fitted margin calibration (config.json `calibration`); None when it has none
        data = loaded.info.get("calibration")
        self.calibration = None if data is None else MarginCalibration.from_json(data, "config.json calibration")

    @classmethod
    def from_checkpoint(cls, directory: str | Path | None = None, device: str | None = None, *,
                        allow_download: bool | None = None, **kwargs) -> "Predictor":
        """A checkpoint directory; None means the shipped default model. allow_download: see load_hf."""
        directory = Path(directory) if directory is not None else get_settings().default_model
        return cls(load_checkpoint(directory, device="cpu", allow_download=allow_download, lean=True), device, **kwargs)

    @property
    def method(self) -> str:
        return self.loaded.method

    @property
    def schema(self) -> RelationSchema:
        return self.loaded.schema

    def featurize(self, documents: Sequence[Document]) -> list[DocFeatures]:
        return [self.loaded.tokenizer.featurize(doc, self.loaded.schema) for doc in documents]

    def check_limits(self, documents: Sequence[Document]) -> None:
        """DocumentTooLargeError for the first document with more entities than max_entities: scoring it would
        need memory beyond what this deployment allows (entities squared pairs, each with every logit kept)."""
        for i, doc in enumerate(documents):
            if doc.num_entities > self.max_entities:
                raise DocumentTooLargeError(
                    f"document {i} ({doc.title!r}) has {doc.num_entities:,} entities, over the limit of "
                    f"{self.max_entities:,} per document ({doc.num_entities * (doc.num_entities - 1):,} ordered pairs "
                    "to score); split the text into smaller documents, or raise DOCRE_MAX_ENTITIES if the "
                    "machine has the memory (bench/memory.py measures it)")

    def _check_features(self, features: Sequence[DocFeatures]) -> None:
        for i, f in enumerate(features):
            if f.num_entities > self.max_entities:  # features made without predict() (the trainer's dev set)
                raise DocumentTooLargeError(f"document {i} ({f.title!r}) has {f.num_entities:,} entities, over the "
                                            f"limit of {self.max_entities:,} per document; raise DOCRE_MAX_ENTITIES")
            if f.length > self.max_tokens:
                raise DocumentTooLargeError(
                    f"document {i} ({f.title!r}) has {f.length:,} word pieces (entity markers included), over the "
                    f"limit of {self.max_tokens:,} per document; split the text into smaller documents, or raise "
                    "DOCRE_MAX_TOKENS if the machine has the memory")

    def predict(self, documents: Sequence[Document], progress: Progress | None = None,
                pair_progress: PairProgress | None = None) -> list[PairScores]:
        self.check_limits(documents)  # before tokenising a huge text
        features = self.featurize(documents)
        return self.predict_features(features, progress, pair_progress)

    @torch.inference_mode()
    def predict_features(self, features: Sequence[DocFeatures], progress: Progress | None = None,
                         pair_progress: PairProgress | None = None) -> list[PairScores]:
        self._check_features(features)  # every document before the first is scored
        model, enc_cfg = self.loaded.model, self.loaded.encoder_config
        model.eval()
        results: list[PairScores | None] = [None] * len(features)
        done = 0
        for idx in length_batches([f.length + 2 for f in features], self.token_budget, self.max_docs):
            batch = collate([features[i] for i in idx], self.loaded.tokenizer, max_window=enc_cfg.max_window,
                            overlap=enc_cfg.window_overlap, num_classes=self.loaded.schema.num_classes,
                            with_labels=False)
            batch = batch.to(self.device)
            with inference_autocast(self.device, self.precision):
                out = model.infer(batch, self.pair_memory, pair_progress)
            logits, probs, decoded = self._outputs(out)
            extras = out.collected  # the method's extras for the whole batch
            offsets = batch.doc_pair_offsets.tolist()
            for j, i in enumerate(idx):
                a, b = offsets[j], offsets[j + 1]
                n_e = features[i].num_entities
                hs, ts = np.nonzero(~np.eye(n_e, dtype=bool))
                results[i] = PairScores(
                    title=features[i].title, method=self.loaded.method, relation_ids=self.loaded.schema.relation_ids,
                    heads=hs.astype(np.int64), tails=ts.astype(np.int64), logits=logits[a:b], probabilities=probs[a:b],
                    decoded=decoded[a:b], extras={k: v.rows(a, b) for k, v in extras.items()},
                    calibration=self.calibration)
            done += len(idx)
            if progress is not None:
                progress(done, len(features))
        return [r for r in results if r is not None]

    def _outputs(self, out: ClassifierOutput) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(n_p, C) float32 logits and probabilities and (n_p, R) decoded relations, computed OUTPUT_ROWS pairs
        at a time into arrays allocated once: decoding 3.2 million pairs whole made five (n_p, C) temporaries
        (margins, float copies, sigmoid, concatenation), about 6 GB at 1,800 entities, on top of the outputs."""
        classifier, n = self.loaded.model.classifier, out.logits.shape[0]
        logits = np.empty(tuple(out.logits.shape), dtype=np.float32)
        probs = np.empty_like(logits)
        decoded = np.empty((n, max(logits.shape[1] - 1, 0)), dtype=bool)
        for start in range(0, n, OUTPUT_ROWS):
            rows = slice(start, min(start + OUTPUT_ROWS, n))
            part = out.rows(rows)
            logits[rows] = part.logits.float().cpu().numpy()
            probs[rows] = classifier.probabilities(part).float().cpu().numpy()
            decoded[rows] = classifier.decode(part).cpu().numpy()
        return logits, probs, decoded


__all__ = ["PairProgress", "Predictor", "length_batches"]
