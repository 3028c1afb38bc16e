"""PEMSCL (Guo et al., 2023): pairwise moving-threshold loss with entropy minimisation, supervised
contrastive learning for multi-label, long-tailed relations, and negative label sampling.

- L_pmt (Eq. 4) compares each relation with the NA threshold alone (a partial order): it is NCRL's plain
  Eq. 2, so it reuses `label_margin_nll`.
- L_em (Eq. 5-6) adds the binary entropy of every relation-vs-threshold distribution, weighted by
  1/gamma_1 (positives) and 1/gamma_2 (negatives), gamma = 1 or the set sizes |P|, |N|.
- L_2 (Eq. 8-10) pulls together L2-normalised pair embeddings sharing a relation; an anchor with no
  partner in the batch (a long-tail relation) only pushes the others away (Eq. 9). NA pairs are no anchors.
- Negative label sampling (Eq. 12-13) keeps a uniform subset of the negative labels of NA pairs only.

Batch reduction. The paper sums both terms over the batch: L_1 over all pairs B (Eq. 7), L_2 over the anchors
B_P (Eq. 10), and weighs them as L_1 + lambda L_2 (Eq. 11). Here both sums are divided by the same |B|, the
number of entity pairs in the batch: L_1 becomes the mean over pairs that every method's loss is (ATLOP's too),
and lambda keeps exactly the weight it has in the paper. This is also what the authors' code does (L_2 is a
mean over all pairs, NA pairs contributing 0). Averaging L_2 over the anchors instead would multiply lambda by
|B| / |B_P|, about 15 on Re-DocRED, where a labelled pair comes with some 15 NA pairs. A batch without pairs
(documents of one entity) has loss 0, not the NaN of an empty mean."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from engine.model.grouped_bilinear import outer_norms
from engine.model.margins import NEG_INF, label_margin_nll, mean_over_pairs

EntropyWeighting = Literal["one", "count"]


def pairwise_entropy(logits: torch.Tensor) -> torch.Tensor:
    """(n_pairs, R) entropy H(r) of {P^r(r), P^eta(r)} = {sigmoid(m), sigmoid(-m)}, m = f_r - f_eta (Eq. 5)."""
    margins = logits[:, 1:] - logits[:, :1]  # (n_p, R)
    p = torch.sigmoid(margins)
    # -p log p - (1 - p) log(1 - p), with log p = -softplus(-m) and log(1 - p) = -softplus(m): stable.
    return p * F.softplus(-margins) + (1.0 - p) * F.softplus(margins)


def sample_negative_labels(labels: torch.Tensor, ratio: float,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """(n_pairs, R) bool: the negative labels the loss keeps (Eq. 12). Pairs with a positive relation keep
    all their negatives; each NA pair keeps round(ratio * R) of its R negatives, drawn uniformly without
    replacement from `generator` (the global RNG when None). ratio >= 1 keeps all and draws nothing."""
    negatives = labels[:, 1:] <= 0  # (n_p, R)
    if ratio >= 1.0:
        return negatives
    n_pairs, n_rel = negatives.shape
    keep = round(ratio * n_rel)
    device = generator.device if generator is not None else torch.device("cpu")
    scores = torch.rand(n_pairs, n_rel, generator=generator, device=device).to(labels.device)
    rank = scores.argsort(dim=1).argsort(dim=1)  # (n_p, R) rank of each relation in a random permutation
    na_pair = ~(labels[:, 1:] > 0).any(1, keepdim=True)  # (n_p, 1)
    return negatives & (~na_pair | (rank < keep))


def moving_threshold_loss(logits: torch.Tensor, labels: torch.Tensor, *, entropy_weighting: EntropyWeighting = "one",
                          negative_mask: torch.Tensor | None = None) -> torch.Tensor:
    """L_1 (Eq. 7), or L_1^NA (Eq. 13) when `negative_mask` ((n_pairs, R) bool, from
    `sample_negative_labels`) limits the negatives; mean over pairs. With "count" weighting gamma_2 is the
    number of negatives actually summed (|N'| for a sampled NA pair)."""
    positives = (labels[:, 1:] > 0).to(logits.dtype)  # (n_p, R)
    negatives = 1.0 - positives if negative_mask is None else negative_mask.to(logits.dtype)
    pos_nll, neg_nll = label_margin_nll(logits)
    pmt = (positives * pos_nll + negatives * neg_nll).sum(1)  # (n_p,) Eq. 4
    entropy = pairwise_entropy(logits)
    em_pos, em_neg = (positives * entropy).sum(1), (negatives * entropy).sum(1)  # (n_p,)
    if entropy_weighting == "count":
        em_pos, em_neg = em_pos / positives.sum(1).clamp(min=1), em_neg / negatives.sum(1).clamp(min=1)
    return mean_over_pairs(pmt + em_pos + em_neg)


@dataclass(frozen=True)
class GroupedOuter:
    """The pair embeddings x = z_head (x) z_tail of GroupedBilinear.outer, held as their factors. The inner
    product of two grouped outer products factorises, <h (x) t, h' (x) t'> = sum_k <h_k, h'_k> <t_k, t'_k>, so
    the contrastive loss's (anchors x pairs) similarities cost 2 * emb_size multiply-adds a cell instead of
    emb_size * block_size (49,152 at the default sizes): a profile of a PEMSCL step had that similarity, on the
    materialised x, taking longer than the encoder (bench/RESULTS.md, PEMSCL and P3M training speed)."""

    z_head: torch.Tensor  # (n_pairs, emb_size)
    z_tail: torch.Tensor  # (n_pairs, emb_size)
    groups: int  # emb_size / block_size

    def __len__(self) -> int:
        return self.z_head.shape[0]

    def cosine(self, rows: torch.Tensor) -> torch.Tensor:
        """(len(rows), n_pairs) cosine of x[rows] with every x, in float32, without forming x."""
        n, block = len(self), self.z_head.shape[1] // self.groups
        with torch.autocast(self.z_head.device.type, enabled=False):  # float32 throughout: no cast per matmul
            h = self.z_head.float().reshape(n, self.groups, block).transpose(0, 1).contiguous()  # (k, n, bs)
            t = self.z_tail.float().reshape(n, self.groups, block).transpose(0, 1).contiguous()  # (k, n, bs)
            dots = torch.bmm(h[:, rows], h.transpose(1, 2))  # (k, n_rows, n)
            dots = (dots * torch.bmm(t[:, rows], t.transpose(1, 2))).sum(0)  # (n_rows, n)
            norms = outer_norms(self.z_head, self.z_tail, self.groups)  # (n,) |x|
            return dots / (norms[rows, None] * norms[None, :])

    def zero(self) -> torch.Tensor:
        """0, attached to the graph of both factors."""
        return (self.z_head.sum() + self.z_tail.sum()) * 0.0


def _cosine(embeddings: torch.Tensor | GroupedOuter, rows: torch.Tensor) -> torch.Tensor:
    """(len(rows), n_pairs) cosine of the rows' embeddings with every pair's, float32."""
    if isinstance(embeddings, GroupedOuter):
        return embeddings.cosine(rows)
    emb = embeddings.float()
    norms = emb.norm(dim=1).clamp(min=1e-12)  # (n_p,) cosine without a normalised (n_p, d) copy
    return (emb[rows] @ emb.T) / (norms[rows, None] * norms[None, :])


def multilabel_contrastive_loss(embeddings: torch.Tensor | GroupedOuter, labels: torch.Tensor,
                                temperature: float) -> torch.Tensor:
    """L_2 (Eq. 8-10): the sum over anchors (pairs with >= 1 relation, B_P) divided by the number of pairs
    |B| (module docstring: lambda then weighs it as in the paper). embeddings: (n_pairs, d), or the factors of
    grouped outer products (GroupedOuter, the same values computed without forming them); normalised here.

    An anchor with partners S (pairs sharing a relation) costs -log((1/|S|) sum_{p in S} e^{s_p} / sum_{d != a}
    e^{s_d}) (Eq. 8): the log sits outside the mean over partners, as printed (Khosla et al.'s L_in). The
    authors' code puts it inside, -(1/|S|) sum_p log(e^{s_p} / sum_d e^{s_d}) (L_out); by Jensen that is the
    larger of the two, and equal when every partner is as similar. Without partners: log sum_{d != a} e^{s_d}
    (Eq. 9). No anchor, or a batch of one pair: 0."""
    positives = labels[:, 1:] > 0  # (n_p, R)
    anchors = positives.any(1).nonzero().squeeze(1)  # (n_a,)
    n_pairs = len(embeddings)
    if anchors.numel() == 0 or n_pairs < 2:  # 0 that keeps the graph, so callers can always backpropagate
        return embeddings.zero() if isinstance(embeddings, GroupedOuter) else embeddings.sum() * 0.0
    sims = _cosine(embeddings, anchors) / temperature  # (n_a, n_p)
    is_self = torch.zeros_like(sims, dtype=torch.bool)
    is_self[torch.arange(anchors.numel(), device=sims.device), anchors] = True  # (n_a, n_p)
    partners = (positives[anchors].float() @ positives.float().T > 0) & ~is_self  # (n_a, n_p) share a relation
    log_denominator = torch.logsumexp(sims.masked_fill(is_self, NEG_INF), dim=1)  # (n_a,) Eq. 9 as well
    n_partners = partners.sum(1)  # (n_a,)
    log_mean_partner = torch.logsumexp(sims.masked_fill(~partners, NEG_INF), dim=1) - n_partners.clamp(min=1).log()
    per_anchor = torch.where(n_partners > 0, log_denominator - log_mean_partner, log_denominator)  # (n_a,)
    return per_anchor.sum() / n_pairs  # Eq. 10's sum over B_P, over |B| like L_1


def pemscl_loss(logits: torch.Tensor, embeddings: torch.Tensor | GroupedOuter, labels: torch.Tensor, *,
                temperature: float,
                contrastive_weight: float, entropy_weighting: EntropyWeighting = "one",
                negative_sample_ratio: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """L^NA = L_1^NA + lambda * L_2 (Eq. 11, 13); with ratio 1 it is Eq. 11 exactly."""
    mask = None if negative_sample_ratio >= 1.0 else sample_negative_labels(labels, negative_sample_ratio, generator)
    loss = moving_threshold_loss(logits, labels, entropy_weighting=entropy_weighting, negative_mask=mask)
    if contrastive_weight > 0:
        loss = loss + contrastive_weight * multilabel_contrastive_loss(embeddings, labels, temperature)
    return loss


__all__ = ["GroupedOuter", "pairwise_entropy", "sample_negative_labels", "moving_threshold_loss",
           "multilabel_contrastive_loss", "pemscl_loss"]
