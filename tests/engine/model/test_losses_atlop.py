import math

import torch

from engine.model.adaptive_thresholding import adaptive_threshold_loss
from engine.model.thresholds import threshold_decode, threshold_probabilities


def test_adaptive_threshold_loss_equals_hand_computed_value():
    # pair 1: TH=1, r1=2 (gold), r2=0.  positive part: -log(e^2 / (e^1 + e^2)) = log(1 + e^-1)
    #                                   negative part: -log(e^1 / (e^1 + e^0)) = log(1 + e^-1)
    # pair 2 (no relation): TH=0.5, r1=0, r2=1. positive part: 0 (no positives)
    #                                   negative part: -log(e^.5 / (e^.5 + e^0 + e^1)) = log(1 + e^-.5 + e^.5)
    logits = torch.tensor([[1.0, 2.0, 0.0], [0.5, 0.0, 1.0]])
    labels = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    pair1 = 2 * math.log(1 + math.exp(-1))
    pair2 = math.log(1 + math.exp(-0.5) + math.exp(0.5))
    expected = (pair1 + pair2) / 2  # = 0.903397...
    assert abs(expected - 0.903397) < 1e-5
    assert torch.isclose(adaptive_threshold_loss(logits, labels), torch.tensor(expected), atol=1e-6)


def test_loss_never_mutates_its_inputs():
    logits = torch.randn(5, 4, requires_grad=True)
    labels = torch.tensor([[0, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]], dtype=torch.float)
    before_logits, before_labels = logits.detach().clone(), labels.clone()
    adaptive_threshold_loss(logits, labels).backward()
    assert torch.equal(labels, before_labels) and torch.equal(logits.detach(), before_logits)


def test_loss_is_zero_gradient_direction_correct():
    # raising a gold relation's logit must lower the loss
    logits = torch.tensor([[0.0, 0.0, 0.0]], requires_grad=True)
    labels = torch.tensor([[0.0, 1.0, 0.0]])
    adaptive_threshold_loss(logits, labels).backward()
    assert logits.grad[0, 1] < 0 and logits.grad[0, 2] > 0


def test_threshold_decode_and_top_k():
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.5, 1.5]])  # margins: 2, 1, -0.5, 0.5
    assert threshold_decode(logits).tolist() == [[True, True, False, True]]
    assert threshold_decode(logits, top_k=2).tolist() == [[True, True, False, False]]
    assert threshold_decode(logits, top_k=10).tolist() == [[True, True, False, True]]


def test_threshold_probabilities():
    logits = torch.tensor([[1.0, 3.0, 0.0]])
    probs = threshold_probabilities(logits)
    assert torch.allclose(probs, torch.tensor([[1 / (1 + math.exp(2)), 1 / (1 + math.exp(-2)), 1 / (1 + math.exp(1))]]))


def test_loss_on_a_batch_without_pairs_is_zero_not_nan():
    logits = torch.zeros(0, 4, requires_grad=True)
    loss = adaptive_threshold_loss(logits, torch.zeros(0, 4))
    assert loss.item() == 0.0
    loss.backward()
