import math
import subprocess
import sys

import pytest
import torch

from engine.model.methods.p3m.loss import ClassPriors, positive_mixup_loss, pu_metric_risk
from tests.paths import ROOT


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


# Scores s = lambda c . f, columns (c_0, c_1, c_2). Relation 1 is labelled on pair 0 only; relation 2 nowhere.
LOGITS = torch.tensor([[0.0, 2.0, -1.0],   # pair 0, labelled r1: l(c1) = softplus(-2), l(c0) = softplus(2)
                       [1.0, 0.0, 0.0],    # pair 1, unlabelled:  l(c0) for r1 = softplus(-1), r2 = softplus(-1)
                       [0.0, 1.0, 0.0]])   # pair 2, unlabelled:  l(c0) for r1 = softplus(1),  r2 = softplus(0)
LABELS = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
# pi_labeled = 0.1, k = 2 -> pi = 0.2, pi_u = (0.2 - 0.1) / 0.9 = 1/9, gamma = sqrt(0.8 / 0.2) = 2
PRIORS = ClassPriors.from_labeled(torch.tensor([0.1, 0.1]), 2.0)
# negative-risk weights: (1 - pi) / (1 - pi_u) = 0.9; (pi_u - pi_u pi) / (1 - pi_u) = 0.1
R2_NEGATIVE = 0.9 * (softplus(-1) + softplus(-1) + softplus(0)) / 3  # r2: every pair unlabelled, no positive risk


def test_priors_prior_shift_and_class_weight():
    assert PRIORS.pi.tolist() == pytest.approx([0.2, 0.2])
    assert PRIORS.pi_unlabeled.tolist() == pytest.approx([1 / 9, 1 / 9])
    assert PRIORS.class_weight.tolist() == pytest.approx([2.0, 2.0])
    unseen = ClassPriors.from_labeled(torch.tensor([0.0]), 3.0)  # a relation absent from training: finite weight
    assert torch.isfinite(unseen.class_weight).all() and unseen.pi_unlabeled.item() == pytest.approx(1e-6)


def test_pu_metric_risk_equals_hand_computed_value():
    # r1: positive risk 2 * 0.2 * softplus(-2) = 0.050771
    #     negative risk 0.9 * mean(softplus(-1), softplus(1)) - 0.1 * softplus(2) = 0.731936 - 0.212693 = 0.519243
    r1 = 2 * 0.2 * softplus(-2) + 0.9 * (softplus(-1) + softplus(1)) / 2 - 0.1 * softplus(2)
    assert r1 == pytest.approx(0.570014, abs=1e-6)
    got = pu_metric_risk(LOGITS, LABELS, PRIORS)
    assert got.item() == pytest.approx(r1 + R2_NEGATIVE, abs=1e-5)


def test_non_negative_correction_takes_over_when_the_negative_risk_is_negative():
    # unlabelled pairs far on the none side: E_U[l(c0)] = softplus(-10) = 4.5e-5, so the r1 negative risk is
    # 0.9 * 4.5e-5 - 0.1 * softplus(2) = -0.212652 < 0 -> max(0, .) = 0: only the positive risk is left,
    # and the unlabelled pairs get no gradient from r1.
    logits = torch.tensor([[0.0, 2.0], [5.0, -5.0], [5.0, -5.0]], requires_grad=True)
    labels = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    priors = ClassPriors.from_labeled(torch.tensor([0.1]), 2.0)
    raw_negative = 0.9 * softplus(-10) - 0.1 * softplus(2)
    assert raw_negative == pytest.approx(-0.212652, abs=1e-6)
    loss = pu_metric_risk(logits, labels, priors)
    assert loss.item() == pytest.approx(2 * 0.2 * softplus(-2), abs=1e-6)
    loss.backward()
    assert torch.equal(logits.grad[1:], torch.zeros(2, 2))
    # with k = 1 there is no prior shift (pi_u = 0): a plain positive-negative risk, never clamped
    plain = pu_metric_risk(logits, labels, ClassPriors.from_labeled(torch.tensor([0.1]), 1.0))
    expected = math.sqrt(0.9 / 0.1) * 0.1 * softplus(-2) + 0.9 * softplus(-10)
    assert plain.item() == pytest.approx(expected, abs=1e-6)


def test_augmented_positives_enter_the_positive_means_only():
    # Eq. 7: a second pass of pair 0 scores (0, 1, -1): l(c1) = softplus(-1), l(c0) = softplus(1).
    # r1: positive risk 0.4 * mean(softplus(-2), softplus(-1)) = 0.088038
    #     negative risk 0.9 * E_U (unchanged: 0.731936) - 0.1 * mean(softplus(2), softplus(1)) = 0.559926
    augmented = torch.tensor([[0.0, 1.0, -1.0]])
    r1 = (0.4 * (softplus(-2) + softplus(-1)) / 2 + 0.9 * (softplus(-1) + softplus(1)) / 2
          - 0.1 * (softplus(2) + softplus(1)) / 2)
    assert r1 == pytest.approx(0.647964, abs=1e-6)
    got = pu_metric_risk(LOGITS, LABELS, PRIORS, augmented_logits=augmented, augmented_labels=LABELS[:1])
    assert got.item() == pytest.approx(r1 + R2_NEGATIVE, abs=1e-5)
    # an identical second pass changes nothing (means over duplicated values)
    same = pu_metric_risk(LOGITS, LABELS, PRIORS, augmented_logits=LOGITS[:1], augmented_labels=LABELS[:1])
    assert same.item() == pytest.approx(pu_metric_risk(LOGITS, LABELS, PRIORS).item(), abs=1e-6)


def test_positive_mixup_loss_equals_hand_computed_value():
    # two mixed copies labelled r1, mu = 0.25: mu l(c1) + (1 - mu) l(c0), mean over the copies
    # copy 0 (s0, s1) = (0, 1): 0.25 softplus(-1) + 0.75 softplus(1) = 1.063262
    # copy 1 (s0, s1) = (0, 2): 0.25 softplus(-2) + 0.75 softplus(2) = 1.626928
    mixed = torch.tensor([[0.0, 1.0, 3.0], [0.0, 2.0, 3.0]])
    labels = torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    expected = (0.25 * softplus(-1) + 0.75 * softplus(1) + 0.25 * softplus(-2) + 0.75 * softplus(2)) / 2
    assert expected == pytest.approx(1.345095, abs=1e-6)
    assert positive_mixup_loss(mixed, labels, 0.25).item() == pytest.approx(expected, abs=1e-6)
    # mu = 1: plain pull to c_1; r2 is unlabelled and contributes nothing
    assert positive_mixup_loss(mixed, labels, 1.0).item() == pytest.approx((softplus(-1) + softplus(-2)) / 2, abs=1e-6)


def test_losses_never_mutate_inputs():
    logits, labels = LOGITS.clone().requires_grad_(True), LABELS.clone()
    pi_labeled = torch.tensor([0.1, 0.1])
    priors = ClassPriors.from_labeled(pi_labeled, 3.0)
    (pu_metric_risk(logits, labels, priors, augmented_logits=logits[:1] * 0.5, augmented_labels=labels[:1])
     + positive_mixup_loss(logits, labels, 0.3)).backward()
    assert torch.equal(logits.detach(), LOGITS) and torch.equal(labels, LABELS)
    assert torch.equal(pi_labeled, torch.tensor([0.1, 0.1]))
    risk_logits = LOGITS.clone().requires_grad_(True)
    pu_metric_risk(risk_logits, labels, priors).backward()
    assert risk_logits.grad[0, 1] < 0  # the labelled relation's score is pulled up
    assert risk_logits.grad[2, 1] > 0  # an unlabelled pair's score for it is pushed down


def test_prepare_priors_scales_estimates_by_visible_share(redocred_docs):
    from engine.data.schema import default_schema
    from engine.model.methods.p3m.method import P3mConfig, estimate_priors, prepare_priors

    schema, docs = default_schema(), redocred_docs[:5]
    full = estimate_priors(docs, schema)
    half = prepare_priors(P3mConfig(), docs, schema, 0.5).class_priors
    assert max(full) > 0 and half == [p * 0.5 for p in full]
    given = P3mConfig(class_priors=[0.1] * schema.num_relations)
    assert prepare_priors(given, docs, schema, 0.5).class_priors == given.class_priors


def test_prior_factor_k_follows_the_regime(redocred_docs):
    """k = 1 on fully labelled data (the paper's Re-DocRED setting), 1 / (1 - h) with a share h hidden: 2 for half;
    a k given by hand (3 for DocRED-like data) is kept. Then the risk of a multi-pair, multi-label batch with
    the prepared k = 2, by hand: pair 0 holds r1 and r2, pairs 1 and 2 are unlabelled; pi_labeled = 0.1."""
    from engine.data.schema import default_schema
    from engine.model.methods.p3m.method import P3mConfig, prepare_priors

    schema, docs = default_schema(), redocred_docs[:3]
    assert P3mConfig().prior_multiplier == 0.0  # "from the regime"
    assert prepare_priors(P3mConfig(), docs, schema, 0.0).prior_multiplier == 1.0
    assert prepare_priors(P3mConfig(), docs, schema, 0.5).prior_multiplier == 2.0
    assert prepare_priors(P3mConfig(), docs, schema, 0.75).prior_multiplier == 4.0
    assert prepare_priors(P3mConfig(prior_multiplier=3.0), docs, schema, 0.5).prior_multiplier == 3.0

    config = prepare_priors(P3mConfig(class_priors=[0.1, 0.1]), docs, schema, 0.5)
    assert config.class_priors == [0.1, 0.1] and config.prior_multiplier == 2.0
    priors = ClassPriors.from_labeled(torch.tensor(config.class_priors), config.prior_multiplier)
    logits = torch.tensor([[0.0, 2.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    labels = torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    # pi = 0.2, pi_u = 1/9, gamma = 2; negative-risk weights 0.9 and 0.1 (as PRIORS above)
    r1 = 2 * 0.2 * softplus(-2) + 0.9 * (softplus(-1) + softplus(1)) / 2 - 0.1 * softplus(2)
    r2 = 2 * 0.2 * softplus(-1) + 0.9 * (softplus(-1) + softplus(0)) / 2 - 0.1 * softplus(1)
    assert r1 + r2 == pytest.approx(1.016876, abs=1e-6)  # 0.570014 + 0.446862
    assert pu_metric_risk(logits, labels, priors).item() == pytest.approx(r1 + r2, abs=1e-5)
    # the old fixed k = 3 (pi = 0.3, pi_u = 2/9, gamma = sqrt(7/3)) weighs this batch differently
    assert pu_metric_risk(logits, labels, ClassPriors.from_labeled(torch.tensor([0.1, 0.1]), 3.0)).item() != \
        pytest.approx(r1 + r2, abs=1e-3)


def test_the_weighted_risks_minimiser_is_log_gamma_plus_the_posteriors_logit():
    """Two kinds of pairs, A (30 of 100 related) and B (3 of 1400), each with one free margin; pi is the share
    related overall. The margins Eq. 5 learns are log gamma + logit(posterior), so the posterior rule (margin >
    log gamma) reads each kind back at its own posterior, while Eq. 1's rule (margin > 0) calls kind A related
    at a posterior of 0.3 (why P3mConfig.decision_shift exists)."""
    sizes, related = (100, 1400), (30, 3)
    pi = sum(related) / sum(sizes)
    priors = ClassPriors.from_labeled(torch.tensor([pi]), 1.0)
    labels = torch.zeros(sum(sizes), 2)
    labels[: related[0], 1] = 1.0
    labels[sizes[0]: sizes[0] + related[1], 1] = 1.0
    labels[:, 0] = 1.0 - labels[:, 1]
    margins = torch.zeros(2, requires_grad=True)
    optimiser = torch.optim.LBFGS([margins], max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        per_pair = torch.cat([margins[0].expand(sizes[0]), margins[1].expand(sizes[1])])
        risk = pu_metric_risk(torch.stack([torch.zeros(sum(sizes)), per_pair], 1), labels, priors)
        risk.backward()
        return risk

    optimiser.step(closure)
    log_gamma = math.log(priors.class_weight.item())
    posteriors = torch.sigmoid(margins - log_gamma).tolist()
    assert posteriors == pytest.approx([related[0] / sizes[0], related[1] / sizes[1]], rel=0.02)
    assert margins[0].item() > 0 > margins[0].item() - log_gamma  # Eq. 1 says related, the posterior rule not


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_the_decision_shift_moves_only_the_returned_logits(alpha):
    from engine.model.methods.base import ModelDims
    from engine.model.methods.p3m.method import P3mClassifier, P3mConfig

    config = P3mConfig(class_priors=[0.01, 0.001], prior_multiplier=1.0, decision_shift=alpha, emb_size=8, block_size=4)
    head = P3mClassifier(config, ModelDims(hidden_size=16, num_heads=2, num_classes=3))
    logits = torch.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]])
    shifted = head.decision_logits(logits)
    gamma = torch.tensor([((1 - 0.01) / 0.01) ** 0.5, ((1 - 0.001) / 0.001) ** 0.5])
    expected = torch.cat([logits[:, :1], logits[:, 1:] - alpha * gamma.log()], 1)
    assert torch.allclose(shifted, expected)


def test_a_decision_shift_outside_zero_to_one_is_named():
    from engine.errors import ConfigError
    from engine.model.methods.p3m.method import P3mConfig

    with pytest.raises(ConfigError, match="decision_shift must be in"):
        P3mConfig(decision_shift=1.5).validate()


def test_the_metric_head_scores_32_rows_in_bf16_without_dying():
    """On a CPU with AMX, torch 2.13's bf16 matmul of exactly 32 rows against the transposed proxies killed the
    process with SIGFPE (half-p3m-s1, step 80: 32 labelled pairs in the augmented pass). Run in a child process,
    so that a crash is this test's failure instead of the test run's end; on other CPUs it passes either way."""
    script = """
import torch
from dataclasses import fields
from engine.model.backbone import PairRepresentation
from engine.model.methods.p3m.metric_classifier import MetricClassifier
head = MetricClassifier(384, 768, 64, 97, scale=10.0, dropout=0.2)
values = {f.name: None for f in fields(PairRepresentation)}
values.update(head=torch.randn(40, 384), tail=torch.randn(40, 384), context=torch.randn(40, 384))
with torch.autocast("cpu", dtype=torch.bfloat16):
    out = head.embed(PairRepresentation(**values), torch.arange(32))
    mixed = head.score(head.mix_with_none(out.unit(), 0.5))
(out.logits.sum() + mixed.float().sum()).backward()
print(tuple(out.logits.shape), tuple(mixed.shape))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert done.stdout.split() == ["(32,", "97)", "(32,", "97)"]
