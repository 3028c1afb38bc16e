"""KMGRE's versions and schedule: the EM phases as an enum, tau's ramp counted on E-step updates and reaching
its limit within the run (kmgre.v2), kmgre.v1's global-step tau kept for the shipped model, the shared key
classifier as an MLP, and the separate key encoder built from the run's encoder settings, with pre-trained
weights only for a fresh model."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from engine.config import EncoderConfig
from engine.errors import ConfigError
from engine.model.methods import ModelDims, get_method
from engine.model.methods.kmgre.method import KmgreClassifier, KmgreConfig, KmgreV1Config
from engine.model.methods.kmgre.schedule import EmSchedule, Phase, e_step_updates
from tests.paths import ROOT

LIMIT = 0.5


def run_schedule(config: KmgreConfig, epochs: int, steps_per_epoch: int) -> dict[tuple[int, int], tuple[Phase, float]]:
    """(epoch, step) -> (phase, tau) as the trainer would report them, one optimisation step per batch."""
    head_schedule = EmSchedule(config.warmup_epochs, config.em_alternation, config.tau_schedule, config.tau_max,
                               config.tau_decay, config.tau_rampup_epochs)
    return {(e, e * steps_per_epoch + b): head_schedule(e, e * steps_per_epoch + b)
            for e in range(epochs) for b in range(steps_per_epoch)}


def test_v2_tau_ramps_on_e_steps_and_reaches_its_limit_within_the_run():
    """6 epochs of 10 steps, 2 warm-up: W W E M E M. tau = 0.5 (1 - 0.01^(n / 20)), n the E-step updates so far
    (Algorithm 1, line 8): it moves only in E-step epochs, is 90% of its limit for the first M-step epoch and
    99% for the last one."""
    trace = run_schedule(KmgreConfig(), epochs=6, steps_per_epoch=10)
    phases = [trace[(e, e * 10)][0] for e in range(6)]
    assert phases == [Phase.WARMUP, Phase.WARMUP, Phase.E_STEP, Phase.M_STEP, Phase.E_STEP, Phase.M_STEP]
    assert all(tau == 0.0 for (e, _), (_, tau) in trace.items() if e < 2)
    assert trace[(2, 20)][1] == 0.0  # no E-step update yet
    assert trace[(2, 29)][1] == pytest.approx(LIMIT * (1 - 0.01 ** (9 / 20)))
    assert {round(tau, 12) for (e, _), (_, tau) in trace.items() if e == 3} == {round(LIMIT * 0.9, 12)}  # frozen in M
    assert trace[(4, 45)][1] == pytest.approx(LIMIT * (1 - 0.01 ** (15 / 20)))
    assert {round(tau, 12) for (e, _), (_, tau) in trace.items() if e == 5} == {round(LIMIT * 0.99, 12)}


def test_v1_tau_follows_the_global_step_as_the_shipped_model_trained():
    """The shipped run: 6 epochs of ~83 steps, tau = 0.5 (1 - 0.999^step) -> 0.197 at its last step, against the
    paper's limit of 0.5; v2 on the same run ends at 99% of it."""
    v1 = run_schedule(KmgreV1Config(), epochs=6, steps_per_epoch=83)
    assert v1[(5, 497)][1] == pytest.approx(LIMIT * (1 - 0.999 ** 497))
    assert v1[(5, 497)][1] == pytest.approx(0.196, abs=1e-3)
    assert v1[(3, 249)][0] is Phase.M_STEP and v1[(3, 249)][1] == pytest.approx(LIMIT * (1 - 0.999 ** 249))
    v2 = run_schedule(KmgreConfig(), epochs=6, steps_per_epoch=83)
    assert v2[(5, 497)][1] == pytest.approx(LIMIT * 0.99)


def test_step_alternation_counts_the_even_steps_since_em_began():
    config = KmgreConfig(warmup_epochs=1, em_alternation="step", tau_rampup_epochs=1.0)
    trace = run_schedule(config, epochs=3, steps_per_epoch=10)
    assert [trace[(1, s)][0] for s in (10, 11, 12)] == [Phase.E_STEP, Phase.M_STEP, Phase.E_STEP]
    # step 13 (an M-step) comes after the E-steps 10 and 12: n = 2 of the N = 10 that reach 99%
    assert trace[(1, 13)][1] == pytest.approx(LIMIT * (1 - 0.01 ** (2 / 10)))
    assert trace[(2, 29)][1] == pytest.approx(LIMIT * (1 - 0.01 ** (10 / 10)))  # E-steps 10, 12, ..., 28
    assert e_step_updates(0, 3, epoch_start=0, steps_per_epoch=10, warmup_epochs=1, alternation="step") == 0.0


def test_versions_and_their_defaults():
    assert get_method("kmgre").name == "kmgre.v2" and get_method("kmgre").config_class is KmgreConfig
    v2, v1 = KmgreConfig(), KmgreV1Config()
    assert (v2.key_encoder, v2.tau_schedule, v2.key_mlp_hidden) == ("separate", "e_step", 256)
    assert (v1.key_encoder, v1.tau_schedule, v1.key_mlp_hidden) == ("shared", "global_step", 0)
    # the shipped config (written before v2) loads to v1's model: a linear probe, tau on the global step
    saved = json.loads((ROOT / "assets" / "models" / "kmgre" / "config.json").read_text())
    assert saved["method"] == "kmgre.v1" and "tau_schedule" not in saved["method_config"]
    shipped = get_method(saved["method"]).config_class.from_json(saved["method_config"])
    assert (shipped.key_encoder, shipped.key_mlp_hidden, shipped.tau_schedule) == ("shared", 0, "global_step")
    head = KmgreClassifier(shipped, ModelDims(hidden_size=8, num_heads=2, num_classes=4))
    assert isinstance(head.key_classifier.scorer, torch.nn.Linear) and head.key_classifier.encoder is None
    assert set(head.state_dict()) == {"tau", "extractor.weight", "extractor.bias", "key_classifier.scorer.weight",
                                      "key_classifier.scorer.bias"}
    with pytest.raises(ConfigError, match="warmup_epochs >= 1"):
        KmgreConfig(warmup_epochs=0).validate()
    KmgreConfig(warmup_epochs=0, tau_schedule="global_step").validate()
    with pytest.raises(ConfigError, match="tau_schedule"):
        KmgreConfig(tau_schedule="epoch").validate()


def test_shared_key_classifier_is_an_mlp_on_detached_features():
    d, hidden = 8, 16
    head = KmgreClassifier(KmgreConfig(key_encoder="shared", key_mlp_hidden=hidden), ModelDims(d, 2, 4))
    scorer = head.key_classifier.scorer
    assert isinstance(scorer, torch.nn.Sequential) and head.key_classifier.encoder is None
    assert sum(p.numel() for p in scorer.parameters()) == 3 * d * hidden + hidden + hidden + 1  # not 3d + 1
    features = torch.randn(5, 3 * d, requires_grad=True)
    head.key_classifier(features, None, None).sum().backward()
    assert features.grad is None  # the E-step never reaches the shared encoder
    assert all(p.grad is not None for p in scorer.parameters())
    with pytest.raises(ConfigError, match="key_mlp_hidden > 0"):
        KmgreConfig(key_encoder="shared", key_mlp_hidden=0).validate()
    KmgreV1Config(key_encoder="shared", key_mlp_hidden=0).validate()  # v1's probe, for its checkpoints


def _query(encoder) -> torch.Tensor:
    return encoder.model.encoder.layer[0].attention.self.query.weight


@pytest.mark.parametrize("via", ["dims", "arguments"])
def test_separate_key_encoder_takes_the_run_encoder_config_and_pretrained_weights_only_when_fresh(tiny_encoder_dir,
                                                                                                  via):
    """Before: EncoderConfig(name=...) with default settings (frozen word embeddings whatever the run said) and
    pre-trained weights even when a checkpoint was about to overwrite them."""
    from engine.model.encoder import load_hf

    run = EncoderConfig(name=str(tiny_encoder_dir), max_window=16, window_overlap=4, freeze_word_embeddings=False)
    pretrained = _query(SimpleNamespace(model=load_hf(str(tiny_encoder_dir))[1]))
    heads = {}
    for fresh in (True, False):
        torch.manual_seed(1)
        if via == "dims":  # what ModelDims is to carry (encoder, fresh): see key_encoder_for
            dims = SimpleNamespace(hidden_size=32, num_heads=2, num_classes=97, encoder_name=str(tiny_encoder_dir),
                                   encoder=run, fresh=fresh)
            heads[fresh] = KmgreClassifier(KmgreConfig(), dims)
        else:
            heads[fresh] = KmgreClassifier(KmgreConfig(), ModelDims(32, 2, 97, encoder_name=str(tiny_encoder_dir)),
                                     encoder_config=run, pretrained=fresh)
    for head in heads.values():
        key_encoder = head.key_classifier.encoder
        assert key_encoder.config == run
        assert key_encoder.model.get_input_embeddings().weight.requires_grad  # the run does not freeze them
    assert torch.equal(_query(heads[True].key_classifier.encoder), pretrained)  # fresh: the pre-trained copy
    assert not torch.equal(_query(heads[False].key_classifier.encoder), pretrained)  # rebuilt: architecture only
