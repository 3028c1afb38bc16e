import math

import pytest
import torch

from engine.model.methods.pemscl.loss import (
    moving_threshold_loss,
    multilabel_contrastive_loss,
    pairwise_entropy,
    pemscl_loss,
    sample_negative_labels,
)


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def entropy(m: float) -> float:
    p = 1 / (1 + math.exp(-m))
    return -p * math.log(p) - (1 - p) * math.log(1 - p)


# pair 1: f_eta = 1, f1 = 2 (gold), f2 = 0.  pair 2 (NA): f_eta = 0.5, f1 = 0, f2 = 1.
LOGITS = torch.tensor([[1.0, 2.0, 0.0], [0.5, 0.0, 1.0]])
LABELS = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
# pmt  pair 1: softplus(-1) + softplus(-1) = 0.626523; pair 2: softplus(-0.5) + softplus(0.5) = 1.448154
# H(m) for margins +-1: 0.582203, for +-0.5: 0.662847
PAIR1 = 2 * softplus(-1) + 2 * entropy(1)  # 1.790930; |P| = |N| = 1, so both weightings agree
PAIR2_PMT = softplus(-0.5) + softplus(0.5)


def test_pairwise_entropy_is_the_binary_entropy_of_the_margin():
    h = pairwise_entropy(LOGITS)
    assert h.shape == (2, 2)
    assert h[0, 0].item() == pytest.approx(0.582203, abs=1e-6) and h[1, 1].item() == pytest.approx(0.662847, abs=1e-6)
    assert pairwise_entropy(torch.tensor([[0.0, 0.0]])).item() == pytest.approx(math.log(2), abs=1e-6)  # maximum
    assert torch.isfinite(pairwise_entropy(torch.tensor([[0.0, 200.0, -200.0]]))).all()


def test_moving_threshold_loss_with_unit_entropy_weights():
    # gamma1 = gamma2 = 1: pair 2 adds both entropies: 1.448154 + 2 * 0.662847 = 2.773849
    expected = (PAIR1 + PAIR2_PMT + 2 * entropy(0.5)) / 2
    assert expected == pytest.approx(2.282389, abs=1e-6)
    assert moving_threshold_loss(LOGITS, LABELS, entropy_weighting="one").item() == pytest.approx(expected, abs=1e-6)


def test_moving_threshold_loss_with_count_entropy_weights():
    # gamma2 = |N| = 2 for pair 2: its entropy sum becomes the mean 0.662847
    expected = (PAIR1 + PAIR2_PMT + entropy(0.5)) / 2
    assert expected == pytest.approx(1.950965, abs=1e-6)
    assert moving_threshold_loss(LOGITS, LABELS, entropy_weighting="count").item() == pytest.approx(expected, abs=1e-6)


def test_negative_label_sampling_ratio_one_keeps_all_and_ratio_zero_drops_na_pairs():
    everything = sample_negative_labels(LABELS, 1.0)
    assert everything.tolist() == [[False, True], [True, True]]
    nothing = sample_negative_labels(LABELS, 0.0, torch.Generator().manual_seed(0))
    assert nothing.tolist() == [[False, True], [False, False]]  # the pair with a relation keeps its negatives
    # ratio 1 is Eq. 11 exactly; ratio 0: the NA pair contributes nothing (Eq. 12 with N' empty), pair 1 all of it
    for weighting in ("one", "count"):
        full = moving_threshold_loss(LOGITS, LABELS, entropy_weighting=weighting)
        assert pemscl_loss(LOGITS, torch.randn(2, 4), LABELS, temperature=1.0, contrastive_weight=0.0,
                           entropy_weighting=weighting, negative_sample_ratio=1.0).item() == pytest.approx(full.item())
        dropped = pemscl_loss(LOGITS, torch.randn(2, 4), LABELS, temperature=1.0, contrastive_weight=0.0,
                              entropy_weighting=weighting, negative_sample_ratio=0.0)
        assert dropped.item() == pytest.approx(PAIR1 / 2, abs=1e-6)  # 0.895465


def test_negative_label_sampling_is_uniform_seeded_and_sized():
    labels = torch.zeros(200, 11)
    labels[:, 0] = 1.0  # 200 NA pairs, 10 relations
    labels[0] = torch.tensor([0.0, 1.0] + [0.0] * 9)  # one pair with a relation
    mask = sample_negative_labels(labels, 0.3, torch.Generator().manual_seed(7))
    assert mask[0].sum() == 9 and not mask[0, 0]  # all negatives of a positive pair
    assert (mask[1:].sum(1) == 3).all()  # round(0.3 * 10) per NA pair
    assert torch.equal(mask, sample_negative_labels(labels, 0.3, torch.Generator().manual_seed(7)))
    assert not torch.equal(mask, sample_negative_labels(labels, 0.3, torch.Generator().manual_seed(8)))
    per_relation = mask[1:].float().mean(0)  # each relation kept ~30% of the time
    assert ((per_relation > 0.15) & (per_relation < 0.45)).all()
    # the loss with the sampled mask: NA pair 2 of LOGITS keeping only relation 2 (index 1)
    mask2 = torch.tensor([[False, True], [False, True]])
    expected = (PAIR1 + softplus(0.5) + entropy(0.5) / 1) / 2  # gamma2 = |N'| = 1
    got = moving_threshold_loss(LOGITS, LABELS, entropy_weighting="count", negative_mask=mask2)
    assert got.item() == pytest.approx(expected, abs=1e-6)


def test_contrastive_loss_multi_label_hand_computed():
    # tau = 1, embeddings normalised inside (scaled inputs test that):
    # a0 = [1, 0] {r1, r2}; a1 = [0, 1] {r1}; a2 = [1, 0] {r2}; a3 = [-1, 0] NA (never an anchor)
    emb = torch.tensor([[2.0, 0.0], [0.0, 3.0], [0.5, 0.0], [-1.0, 0.0]])
    labels = torch.tensor([[0, 1, 1], [0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=torch.float)
    e = math.e
    # a0: partners {a1 (r1), a2 (r2)}, sims 0, 1; others 0, 1, -1: -log(((1 + e) / 2) / (1 + e + 1/e)) = 0.787491
    # a1: partner {a0}, sims to a0, a2, a3 all 0: -log(1 / 3) = 1.098612
    # a2: partner {a0}, sim 1; others 1, 0, -1: -log(e / (e + 1 + 1/e)) = 0.407606
    # Eq. 10 sums the 3 anchors; divided by the 4 pairs of the batch (as L_1 is), not by the 3 anchors
    expected = (math.log(2 * (1 + e + 1 / e) / (1 + e)) + math.log(3) + math.log(1 + e + 1 / e) - 1) / 4
    assert expected == pytest.approx(0.573427, abs=1e-6)
    assert multilabel_contrastive_loss(emb, labels, 1.0).item() == pytest.approx(expected, abs=1e-6)


def test_contrastive_loss_without_partners_uses_the_long_tail_term():
    # no pair shares a relation: every anchor only pushes the others away, log sum_{d != a} e^{s/tau} (Eq. 9)
    # tau = 0.5: a0 = [1, 0] {r1}: log(e^0 + e^-2) = 0.126928; a1 = [0, 1] {r2}: log(e^0 + e^0) = log 2
    emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    labels = torch.tensor([[0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=torch.float)
    expected = (math.log(1 + math.exp(-2)) + math.log(2)) / 3  # 2 anchors summed, over the 3 pairs
    assert expected == pytest.approx(0.273359, abs=1e-6)
    got = multilabel_contrastive_loss(emb.clone().requires_grad_(True), labels, 0.5)
    assert got.item() == pytest.approx(expected, abs=1e-6)


def test_contrastive_loss_is_zero_without_anchors_and_keeps_the_graph():
    emb = torch.randn(3, 4, requires_grad=True)
    labels = torch.tensor([[1, 0, 0]] * 3, dtype=torch.float)  # all NA
    loss = multilabel_contrastive_loss(emb, labels, 0.2)
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(emb.grad, torch.zeros(3, 4))
    assert multilabel_contrastive_loss(emb[:1], torch.tensor([[0.0, 1.0, 0.0]]), 0.2).item() == 0.0  # a lone pair


def test_pemscl_loss_adds_the_weighted_contrastive_term_and_never_mutates():
    # pairs 0 and 2 are copies of LOGITS[0] (r1); pair 1 is the NA pair of LOGITS
    emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], requires_grad=True)
    logits = torch.cat([LOGITS, LOGITS[:1]]).requires_grad_(True)
    labels = torch.cat([LABELS, LABELS[:1]])
    before = (logits.detach().clone(), labels.clone(), emb.detach().clone())
    total = pemscl_loss(logits, emb, labels, temperature=0.5, contrastive_weight=0.1, entropy_weighting="count")
    l1 = (2 * PAIR1 + PAIR2_PMT + entropy(0.5)) / 3
    # anchors 0 and 2 are partners, sim 1 / 0.5 = 2; the NA pair sim 0: -log(e^2 / (e^2 + 1)) = softplus(-2) each,
    # summed over the 2 anchors and divided by the 3 pairs
    l2 = 2 * softplus(-2) / 3
    assert total.item() == pytest.approx(l1 + 0.1 * l2, abs=1e-6)
    total.backward()
    assert torch.equal(logits.detach(), before[0]) and torch.equal(labels, before[1])
    assert torch.equal(emb.detach(), before[2])
    assert emb.grad.abs().sum() > 0


def test_contrastive_term_is_weighted_as_the_papers_sums():
    """Eq. 11 sums L_1 over all pairs and L_2 over the anchors; the loss is that sum over |B| = 6 pairs, so
    lambda weighs L_2 as in the paper (averaging L_2 over the 2 anchors instead would weigh it 3 times more).
    Two labelled pairs sharing r1 (a0 also holds r2), four NA pairs; all logits 0, tau = 1."""
    e = math.e
    emb = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    labels = torch.tensor([[0, 1, 1], [0, 1, 0]] + [[1, 0, 0]] * 4, dtype=torch.float)
    logits = torch.zeros(6, 3)
    # L_1 (count weighting), every margin 0: pmt = log 2 per relation, every entropy log 2.
    # a0 {r1, r2}: 2 log 2 + mean H(P) = 3 log 2; a1 {r1}: 2 log 2 + H + H = 4 log 2; NA: 2 log 2 + mean H(N) = 3 log 2
    l1_sum = (3 + 4 + 4 * 3) * math.log(2)
    # L_2: a0's partner a1 (sim 1); d != a0: a1 e^1, NA e^0, e^0, e^-1, e^0 -> -log(e / (e + 3 + 1/e)); a1 alike
    l2_sum = 2 * (math.log(e + 3 + 1 / e) - 1)
    lam = 0.1
    paper = l1_sum + lam * l2_sum  # Eq. 11 as printed
    got = pemscl_loss(logits, emb, labels, temperature=1.0, contrastive_weight=lam, entropy_weighting="count")
    assert got.item() * 6 == pytest.approx(paper, abs=1e-5)
    assert multilabel_contrastive_loss(emb, labels, 1.0).item() == pytest.approx(l2_sum / 6, abs=1e-6)


@pytest.mark.parametrize("ratio", [1.0, 0.5])
def test_loss_on_a_batch_without_pairs_is_zero_not_nan(ratio):
    logits = torch.zeros(0, 4, requires_grad=True)
    emb = torch.zeros(0, 8, requires_grad=True)
    loss = pemscl_loss(logits, emb, torch.zeros(0, 4), temperature=0.2, contrastive_weight=0.1,
                       negative_sample_ratio=ratio, generator=torch.Generator().manual_seed(0))
    assert loss.item() == 0.0
    loss.backward()


def test_the_factored_grouped_outer_product_gives_the_dense_loss_and_gradients():
    """GroupedOuter computes the similarities of z_head (x) z_tail from its factors: the loss and the gradients
    reaching z_head and z_tail equal those through the materialised outer product (GroupedBilinear.outer)."""
    from engine.model.grouped_bilinear import GroupedBilinear
    from engine.model.methods.pemscl.loss import GroupedOuter

    torch.manual_seed(0)
    n, emb, block = 12, 16, 4
    labels = torch.zeros(n, 6)
    labels[[0, 3, 5, 8], [1, 2, 1, 4]] = 1.0  # two anchors share relation 1; two are alone
    labels[:, 0] = (labels[:, 1:].sum(1) == 0).float()
    factors = [torch.tanh(torch.randn(n, emb)).requires_grad_(True) for _ in range(2)]
    dense = multilabel_contrastive_loss(GroupedBilinear(emb, block, 6).outer(*factors), labels, 0.2)
    dense_grads = torch.autograd.grad(dense, factors)
    factored = multilabel_contrastive_loss(GroupedOuter(*factors, emb // block), labels, 0.2)
    factored_grads = torch.autograd.grad(factored, factors)
    assert factored.item() == pytest.approx(dense.item(), rel=1e-5) and dense.item() > 0
    for got, want in zip(factored_grads, dense_grads):
        assert torch.allclose(got, want, atol=1e-6)
    no_anchor = torch.zeros(n, 6)
    no_anchor[:, 0] = 1.0
    zero = multilabel_contrastive_loss(GroupedOuter(*factors, emb // block), no_anchor, 0.2)
    assert zero.item() == 0.0 and all(g is not None for g in torch.autograd.grad(zero, factors))
