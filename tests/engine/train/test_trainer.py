"""The training loop: gradient accumulation's last group, seeding once, callbacks that get (config, state,
control) and steer through control, and the history the trainer owns."""
from __future__ import annotations

import pytest
import torch

from engine.config import EncoderConfig, TrainConfig
from engine.data.schema import default_schema
from engine.model.checkpoint import build_model
from engine.train import trainer as trainer_module
from engine.train.callbacks import TrainerCallback
from engine.train.trainer import Trainer, accumulation_divisor
from tests.model_helpers import small_docs


def test_last_partial_accumulation_group_is_averaged_over_its_own_size() -> None:
    # 5 batches, accumulation 2: groups {0, 1}, {2, 3}, {4}; the last holds one batch, not two
    assert [accumulation_divisor(b, 5, 2) for b in range(5)] == [2, 2, 2, 2, 1]
    assert [accumulation_divisor(b, 7, 3) for b in range(7)] == [3, 3, 3, 3, 3, 3, 1]
    assert [accumulation_divisor(b, 4, 1) for b in range(4)] == [1, 1, 1, 1]


def _tiny(tiny_encoder_dir, method: str = "atlop"):
    schema = default_schema()
    from engine.model.methods import get_method

    config = get_method(method).config_class(emb_size=32, block_size=8)
    return build_model(method, config, EncoderConfig(name=str(tiny_encoder_dir), freeze_word_embeddings=False), schema)


def test_gradient_of_a_short_last_group_matches_one_batch_step(redocred_docs, tiny_encoder_dir) -> None:
    """With 3 documents, batch 1 and accumulation 2, the last step's gradient is one batch's full gradient."""
    docs = small_docs(redocred_docs, 3)
    loaded = _tiny(tiny_encoder_dir)
    feats = [loaded.tokenizer.featurize(d, loaded.schema) for d in docs]
    seen: list[float] = []

    trainer = Trainer(loaded, TrainConfig(epochs=1, batch_size=1, grad_accumulation=2, lr_encoder=0.0, lr_head=1e-9,
                                          warmup_ratio=0.0, max_grad_norm=0.0), feats)
    original_step = trainer._optimizer_step

    def record_step() -> None:
        seen.append(float(sum(p.grad.abs().sum() for p in trainer.model.classifier.parameters() if p.grad is not None)))
        original_step()

    trainer._optimizer_step = record_step
    order: list[list[int]] = []
    original_batches = trainer_module.bucketed_batches

    def spy(*args, **kwargs):
        out = original_batches(*args, **kwargs)
        order.extend(out)
        return out

    trainer_module.bucketed_batches = spy
    try:
        trainer.train()
    finally:
        trainer_module.bucketed_batches = original_batches
    last_doc = order[-1]
    # the reference: the gradient of the last batch's loss alone, at the same (practically unchanged) weights
    loaded.model.zero_grad()
    from engine.model.features import collate

    enc = loaded.encoder_config
    batch = collate([feats[i] for i in last_doc], loaded.tokenizer, max_window=enc.max_window, overlap=enc.window_overlap,
                    num_classes=loaded.schema.num_classes, with_labels=True)
    loaded.model.eval()  # no dropout: the trainer's step had dropout, hence the tolerance below
    loaded.model(batch).loss.backward()
    reference = float(sum(p.grad.abs().sum() for p in loaded.model.classifier.parameters() if p.grad is not None))
    assert len(seen) == 2
    # the old code divided by 2 here: half the reference
    assert seen[-1] == pytest.approx(reference, rel=0.25)


def test_trainer_does_not_reseed(tiny_encoder_dir, redocred_docs, monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(trainer_module, "seed_everything", lambda seed: calls.append(seed), raising=False)
    loaded = _tiny(tiny_encoder_dir)
    feats = [loaded.tokenizer.featurize(d, loaded.schema) for d in small_docs(redocred_docs, 1)]
    Trainer(loaded, TrainConfig(epochs=1, batch_size=1), feats)
    assert calls == []


def test_callbacks_get_config_state_control_and_can_stop(tiny_encoder_dir, redocred_docs) -> None:
    events: list[tuple[str, int, int]] = []

    class StopAfterOne(TrainerCallback):
        def on_step_end(self, config, state, control) -> None:
            events.append(("step", state.epoch, state.batch))

        def on_epoch_end(self, config, state, control) -> None:
            assert isinstance(config, TrainConfig) and state.history[-1]["epoch"] == state.epoch
            events.append(("epoch", state.epoch, state.num_batches))
            control.should_stop = True

    loaded = _tiny(tiny_encoder_dir)
    feats = [loaded.tokenizer.featurize(d, loaded.schema) for d in small_docs(redocred_docs, 2)]
    state = Trainer(loaded, TrainConfig(epochs=3, batch_size=1), feats, callbacks=[StopAfterOne()]).train()
    assert state.epoch == 1 and [e[0] for e in events] == ["step", "step", "epoch"]
    assert set(state.history[0]) >= {"epoch", "train_loss", "docs_per_second"}
    assert state.history[0]["train_loss"] > 0
