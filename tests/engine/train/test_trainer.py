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

    trainer = Trainer(loaded, TrainConfig(epochs=1, batch_size=1, grad_accumulation=2, lr_encoder=0.0,
                                          lr_classifier=1e-9,
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
    batch = collate([feats[i] for i in last_doc], loaded.tokenizer, max_window=enc.max_window,
                    overlap=enc.window_overlap,
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


@pytest.mark.parametrize(("requested", "native", "device", "expected"), [
    ("auto", True, "cpu", "bfloat16"), ("auto", False, "cpu", "float32"), ("auto", False, "cuda", "bfloat16"),
    ("float32", True, "cpu", "float32"), ("bfloat16", False, "cpu", "bfloat16")])
def test_training_precision_auto_follows_the_hardware(monkeypatch, requested, native, device, expected) -> None:
    from engine.serve import numeric_precision

    monkeypatch.setattr(numeric_precision, "cpu_has_native_bf16", lambda: native)
    assert numeric_precision.resolve_training_precision(requested, torch.device(device)) == expected


def test_an_unknown_training_precision_is_refused_by_name() -> None:
    from engine.errors import ConfigError

    with pytest.raises(ConfigError, match="training precision 'int8'"):
        TrainConfig(precision="int8").validate()


@pytest.mark.parametrize("precision", ["bfloat16", "float32"])
def test_bf16_training_computes_in_bf16_over_fp32_weights(tiny_encoder_dir, redocred_docs, precision) -> None:
    """The encoder's matmuls run in the chosen precision; weights and their gradients stay fp32 either way."""
    loaded = _tiny(tiny_encoder_dir)
    feats = [loaded.tokenizer.featurize(d, loaded.schema) for d in small_docs(redocred_docs, 2)]
    seen: set[torch.dtype] = set()
    first_linear = next(m for m in loaded.model.encoder.modules() if isinstance(m, torch.nn.Linear))
    first_linear.register_forward_hook(lambda module, inputs, output: seen.add(output.dtype))
    before = [p.detach().clone() for p in loaded.model.parameters()]
    state = Trainer(loaded, TrainConfig(epochs=1, batch_size=1, precision=precision), feats).train()
    assert seen == {torch.bfloat16 if precision == "bfloat16" else torch.float32}
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())
    assert any(not torch.equal(a, p) for a, p in zip(before, loaded.model.parameters()))
    assert state.history[0]["train_loss"] > 0 and torch.isfinite(torch.tensor(state.history[0]["train_loss"]))


@pytest.mark.parametrize("method", ["atlop", "ncrl", "pemscl", "p3m", "paee", "kmgre"])
def test_every_method_trains_to_a_finite_loss_in_bf16(tiny_encoder_dir, redocred_docs, method) -> None:
    """Masks at -inf and log-sum-exps must survive bf16 autocast in each method's loss."""
    loaded = _tiny(tiny_encoder_dir, method)
    feats = [loaded.tokenizer.featurize(d, loaded.schema) for d in small_docs(redocred_docs, 2)]
    losses: list[float] = []

    class Record(TrainerCallback):
        def on_step_end(self, config, state, control) -> None:
            losses.append(state.loss)

    Trainer(loaded, TrainConfig(epochs=2, batch_size=1, precision="bfloat16"), feats, callbacks=[Record()]).train()
    assert len(losses) == 4 and all(torch.isfinite(torch.tensor(losses)))
    assert all(torch.isfinite(p).all() for p in loaded.model.parameters())
