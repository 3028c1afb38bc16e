"""`Predictor.from_checkpoint(dir).predict(documents) -> list[PairScores]`: length-sorted batches under
inference mode, bf16 autocast where the hardware has native bf16 (see precision.py); the trainer's dev
evaluation uses the same path."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from engine.model.checkpoint import LoadedModel, load_checkpoint
from engine.data.documents import Document
from engine.model.features import DocFeatures, collate
from engine.serve.numeric_precision import inference_autocast, resolve_precision
from engine.data.schema import RelationSchema
from engine.data.calibration import MarginCalibration
from engine.data.pair_scores import PairScores
from engine.settings import get_settings, pick_device

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]  # (documents done, total)


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
                 token_budget: int | None = None, max_docs: int | None = None) -> None:
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
    def from_checkpoint(cls, directory: str | Path | None = None, device: str | None = None, **kwargs) -> "Predictor":
        """A checkpoint directory; None means the shipped default model."""
        directory = Path(directory) if directory is not None else get_settings().default_model
        return cls(load_checkpoint(directory, device="cpu"), device, **kwargs)

    @property
    def method(self) -> str:
        return self.loaded.method

    @property
    def schema(self) -> RelationSchema:
        return self.loaded.schema

    def featurize(self, documents: Sequence[Document]) -> list[DocFeatures]:
        return [self.loaded.tokenizer.featurize(doc, self.loaded.schema) for doc in documents]

    def predict(self, documents: Sequence[Document], progress: Progress | None = None) -> list[PairScores]:
        features = self.featurize(documents)
        return self.predict_features(features, progress)

    @torch.inference_mode()
    def predict_features(self, features: Sequence[DocFeatures], progress: Progress | None = None) -> list[PairScores]:
        model, enc_cfg = self.loaded.model, self.loaded.encoder_config
        model.eval()
        results: list[PairScores | None] = [None] * len(features)
        done = 0
        for idx in length_batches([f.length + 2 for f in features], self.token_budget, self.max_docs):
            batch = collate([features[i] for i in idx], self.loaded.tokenizer, max_window=enc_cfg.max_window,
                            overlap=enc_cfg.window_overlap, num_classes=self.loaded.schema.num_classes, with_labels=False)
            batch = batch.to(self.device)
            with inference_autocast(self.device, self.precision):
                out = model(batch)
            decoded = model.head.decode(out).cpu().numpy()
            probs = model.head.probabilities(out).float().cpu().numpy()
            logits = out.logits.float().cpu().numpy()
            extras = model.head.collect_extras(out, batch)  # the method's extras for the whole batch
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


__all__ = ["Predictor", "length_batches"]
