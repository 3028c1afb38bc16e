"""Helpers for method tests: overfit a tiny model on two real documents, then save, load and compare."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.config import EncoderConfig, TrainConfig
from engine.data.schema import default_schema
from engine.model.checkpoint import build_model, load_checkpoint, save_checkpoint
from engine.serve.predictor import Predictor
from engine.train.callbacks import TrainerCallback
from engine.train.trainer import Trainer


class LossLog(TrainerCallback):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_step_end(self, config, state, control) -> None:
        self.losses.append(state.loss)


def small_docs(docs, n: int = 2, max_entities: int = 12):
    """The first n documents with at most max_entities entities (keeps the tests quick)."""
    return [d for d in docs if len(d.entities) <= max_entities and d.facts][:n]


def overfit(method: str, encoder_dir: Path, docs, *, epochs: int = 40, options: dict | None = None, lr: float = 2e-3):
    schema = default_schema()
    spec_config = None
    if options:
        from engine.model.methods import get_method

        spec = get_method(method)
        spec_config = spec.config_class.from_json({**spec.config_class().to_json(), **options})
    loaded = build_model(method, spec_config, EncoderConfig(name=str(encoder_dir), freeze_word_embeddings=False),
                         schema)
    feats = [loaded.tokenizer.featurize(d, schema) for d in docs]
    log = LossLog()
    trainer = Trainer(loaded, TrainConfig(epochs=epochs, batch_size=2, lr_encoder=lr, lr_classifier=lr,
                                          warmup_ratio=0.0, seed=1),
                      feats, callbacks=[log])
    trainer.train()
    return loaded, log.losses


def gold_triples(doc):
    return {(f.h, f.t, f.r) for f in doc.facts}


def predicted_triples(scores):
    return {(h, t, r) for h, t, r, _ in scores.predicted_triples()}


def assert_reload_identical(loaded, tmp_path: Path, docs) -> None:
    before = Predictor(loaded, "cpu").predict(docs)
    save_checkpoint(loaded, tmp_path / "ckpt")
    after = Predictor(load_checkpoint(tmp_path / "ckpt"), "cpu").predict(docs)
    for a, b in zip(before, after):
        np.testing.assert_allclose(a.logits, b.logits, rtol=1e-5, atol=1e-5)
        assert np.array_equal(a.decoded, b.decoded)


def synthetic_document(n_entities: int, title: str = "synthetic"):
    """A document of n_entities one-word entities, two per sentence ("X met Y ."): the size of a long text
    that spaCy finds ~1,800 entities in, built without running spaCy on it."""
    from engine.data.documents import Document, Entity, Mention

    sents, entities = [], []
    for i in range(0, n_entities, 2):
        sent = []
        for k in range(i, min(i + 2, n_entities)):
            entities.append(Entity((Mention(f"name{k}", len(sents), len(sent), len(sent) + 1, "PER"),)))
            sent += [f"name{k}", "met"]
        sents.append(tuple(sent[:-1] + ["."]))
    return Document(title, tuple(sents), tuple(entities))


def sparse_scores(n_entities: int, predicted: list[tuple[int, int]], title: str = "synthetic"):
    """Scores of every ordered pair of n entities (relations P17, P27), nothing decoded but `predicted` (P17 at
    margin 2): a long document's scores without running a model."""
    from engine.data.pair_scores import PairScores

    hs, ts = np.nonzero(~np.eye(n_entities, dtype=bool))
    logits = np.zeros((len(hs), 3), dtype=np.float32)  # (n_pairs, 1 + 2): threshold at 0
    logits[:, 1:] = -1.0
    for h, t in predicted:
        logits[(hs == h) & (ts == t), 1] = 2.0
    return PairScores(title, "atlop.v1", ("P17", "P27"), hs.astype(np.int64), ts.astype(np.int64), logits,
                      logits.copy(), logits[:, 1:] > logits[:, :1])
