import math

import pytest
import torch

from engine.model.margins import label_margin_nll
from engine.model.methods.ncrl.loss import ncrl_loss, shifted_negative_nll


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


# pair 1: f0 = 1, f1 = 2 (gold), f2 = 0.  pair 2 (no relation): f0 = 0.5, f1 = 0, f2 = 1.
LOGITS = torch.tensor([[1.0, 2.0, 0.0], [0.5, 0.0, 1.0]])
LABELS = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def test_plain_ncrl_equals_hand_computed_value():
    # Eq. 2 only. pair 1: -log s(2 - 1) + -log s(1 - 0) = 2 softplus(-1) = 0.626523
    #             pair 2 (no positive): -log s(0.5 - 0) + -log s(0.5 - 1) = softplus(-0.5) + softplus(0.5) = 1.448154
    expected = (2 * softplus(-1) + softplus(-0.5) + softplus(0.5)) / 2
    assert expected == pytest.approx(1.037339, abs=1e-6)
    got = ncrl_loss(LOGITS, LABELS, shift=0.0, margin_regularization=False)
    assert got.item() == pytest.approx(expected, abs=1e-6)


def test_margin_regularization_equals_hand_computed_value():
    # Eq. 5: pair 1 (y0 = 0): m0- = mean(2, 0) - 1 = 0 -> -log s(0) = log 2
    #        pair 2 (y0 = 1): m0+ = 0.5 - mean(0, 1) = 0 -> -log s(0) = log 2
    expected = (2 * softplus(-1) + math.log(2) + softplus(-0.5) + softplus(0.5) + math.log(2)) / 2
    assert expected == pytest.approx(1.730486, abs=1e-6)
    assert ncrl_loss(LOGITS, LABELS, shift=0.0).item() == pytest.approx(expected, abs=1e-6)


def test_margin_shifting_equals_hand_computed_value():
    # gamma = 0.05 lifts negative probabilities only (Eq. 6-7):
    # pair 1: positive r1: softplus(-1) = 0.313262; negative r2: -log(s(1) + .05) = -log(0.781059) = 0.247105;
    #         regulariser (y0 = 0): -log(s(0) + .05) = -log(0.55) = 0.597837
    # pair 2: r1: -log(s(0.5) + .05) = 0.396814; r2: -log(s(-0.5) + .05) = 0.849706; regulariser (y0 = 1): log 2
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    pair1 = softplus(-1) - math.log(sig(1) + 0.05) - math.log(0.55)
    pair2 = -math.log(sig(0.5) + 0.05) - math.log(sig(-0.5) + 0.05) + math.log(2)
    expected = (pair1 + pair2) / 2
    assert expected == pytest.approx(1.548935, abs=1e-6)
    assert ncrl_loss(LOGITS, LABELS, shift=0.05).item() == pytest.approx(expected, abs=1e-6)


def test_margin_shift_is_a_clamp_at_one_not_the_printed_max():
    # Eq. 6 prints max(s(m-) + gamma, 1), which is always 1 (loss 0 everywhere). We read it as min(., 1):
    # an easy negative (s(m-) > 1 - gamma) costs exactly 0 with zero gradient, a hard one still costs.
    easy = torch.tensor([4.0], requires_grad=True)  # s(4) = 0.982 > 0.95
    loss = shifted_negative_nll(easy, 0.05)
    loss.sum().backward()
    assert loss.item() == 0.0 and easy.grad.item() == 0.0
    hard = torch.tensor([-2.0])  # s(-2) = 0.119 -> -log(0.169) = 1.778
    assert shifted_negative_nll(hard, 0.05).item() == pytest.approx(-math.log(1 / (1 + math.exp(2)) + 0.05), abs=1e-6)
    assert shifted_negative_nll(hard, 0.05).item() > 1.0
    # the shift bounds the loss of a suspected false negative by -log(gamma)
    assert shifted_negative_nll(torch.tensor([-50.0]), 0.05).item() == pytest.approx(-math.log(0.05), abs=1e-5)


def test_label_margin_nll_shapes_and_values():
    pos, neg = label_margin_nll(LOGITS)
    assert pos.shape == neg.shape == (2, 2)
    assert pos[0, 0].item() == pytest.approx(softplus(-1), abs=1e-6)  # -log s(f1 - f0)
    assert neg[1, 1].item() == pytest.approx(softplus(0.5), abs=1e-6)  # -log s(f0 - f2)


def test_loss_never_mutates_inputs_and_gradient_points_the_right_way():
    logits = LOGITS.clone().requires_grad_(True)
    labels = LABELS.clone()
    ncrl_loss(logits, labels, shift=0.05).backward()
    assert torch.equal(labels, LABELS) and torch.equal(logits.detach(), LOGITS)
    assert logits.grad[0, 1] < 0  # raising the gold relation lowers the loss
    assert logits.grad[1, 2] > 0  # raising a negative of a no-relation pair raises it


@pytest.mark.parametrize("shift, regularize", [(0.0, False), (0.05, True)])
def test_loss_on_a_batch_without_pairs_is_zero_not_nan(shift, regularize):
    """Documents with fewer than two entities give no pair: the mean over none is 0, not NaN (issue 13)."""
    logits = torch.zeros(0, 4, requires_grad=True)
    loss = ncrl_loss(logits, torch.zeros(0, 4), shift=shift, margin_regularization=regularize)
    assert loss.item() == 0.0
    loss.backward()
    assert logits.grad.shape == (0, 4)
