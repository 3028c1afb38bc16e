"""PAEE's losses (Huang et al., 2022, Appendix A.1), as pure functions: the relation loss is the paper's
"Adaptive Softmax" (Eq. 9), plus a binary cross-entropy for potential pairs (Eq. 10) and for Cross
Matching's subject/object features (Eq. 11); Eq. 12 sums them. BCEs take logits
(binary_cross_entropy_with_logits), which equals Eq. 10/11 on sigmoid probabilities but stays finite where a
probability saturates.

Eq. 9 as printed is DocuNet's balanced softmax (circle loss) with the threshold class TH as zero point:
    L_rel = log(e^{s_TH} + sum_{neg} e^{s_i}) + log(e^{-s_TH} + sum_{pos} e^{-s_i})
          = log(1 + sum_{neg} e^{s_i - s_TH}) + log(1 + sum_{pos} e^{s_TH - s_i}).
Its negative part is ATLOP's adaptive-thresholding loss's; its positive part is one softmax of TH against all
positives, where ATLOP ranks each positive against TH *and the other positives* (sum over i in pos of
-log(e^{s_i} / (e^{s_TH} + sum_{pos} e^{s_j}))). The two are equal only for pairs with at most one relation;
about 28% of the positive pairs of DocRED hold several, and for them Eq. 9 never makes positives compete."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.model.margins import NEG_INF


def adaptive_softmax_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 9, mean over pairs (0 for a batch without pairs). logits, labels: (n_pairs, n_classes), column 0 the
    threshold class TH; labels multi-hot (column 0 ignored)."""
    if logits.shape[0] == 0:
        return logits.sum() * 0.0  # keeps the graph
    positive = labels[:, 1:] > 0  # (n_p, R)
    with_th = torch.ones_like(positive[:, :1])  # (n_p, 1) TH is in both sums
    negative_set = torch.cat([with_th, ~positive], dim=1)  # (n_p, n_classes) TH + negatives
    positive_set = torch.cat([with_th, positive], dim=1)  # (n_p, n_classes) TH + positives
    negative_part = torch.logsumexp(logits.masked_fill(~negative_set, NEG_INF), dim=1)  # (n_p,)
    positive_part = torch.logsumexp((-logits).masked_fill(~positive_set, NEG_INF), dim=1)  # (n_p,)
    return (negative_part + positive_part).mean()


def potential_pair_targets(labels: torch.Tensor) -> torch.Tensor:
    """(n_p, n_classes) multi-hot -> (n_p,) 1.0 where the pair holds at least one relation."""
    return (labels[:, 1:] > 0).any(1).to(torch.float32)


def potential_pair_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 10: mean BCE over all n_p pairs of P_pair = sigmoid(logits) against "has a relation"."""
    if logits.numel() == 0:
        return logits.sum()
    return F.binary_cross_entropy_with_logits(logits.float(), potential_pair_targets(labels))


def entity_role_targets(labels: torch.Tensor, pair_head: torch.Tensor, pair_tail: torch.Tensor,
                        num_entities: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross Matching targets, each (n_e, R): entity j is subject (object) of relation i in some pair."""
    rel = labels[:, 1:].to(torch.float32)  # (n_p, R)
    zeros = rel.new_zeros(num_entities, rel.shape[1])
    sub = zeros.scatter_reduce(0, pair_head[:, None].expand_as(rel), rel, reduce="amax")  # (n_e, R)
    obj = zeros.scatter_reduce(0, pair_tail[:, None].expand_as(rel), rel, reduce="amax")  # (n_e, R)
    return sub, obj


def cross_matching_loss(sub_logits: torch.Tensor, obj_logits: torch.Tensor, sub_targets: torch.Tensor,
                        obj_targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 11: (L_sub, L_obj), each the BCE averaged over n_e entities x n_c relations."""
    if sub_logits.numel() == 0:
        return sub_logits.sum(), obj_logits.sum()
    return (F.binary_cross_entropy_with_logits(sub_logits.float(), sub_targets),
            F.binary_cross_entropy_with_logits(obj_logits.float(), obj_targets))


@dataclass
class PaeeLoss:
    """Eq. 12 and its parts (scalars)."""

    total: torch.Tensor
    relation: torch.Tensor
    potential: torch.Tensor
    subject: torch.Tensor
    object: torch.Tensor


def paee_loss(logits: torch.Tensor, potential_logits: torch.Tensor, sub_logits: torch.Tensor, obj_logits: torch.Tensor,
              labels: torch.Tensor, pair_head: torch.Tensor, pair_tail: torch.Tensor, *,
              alpha: float = 1.0, beta: float = 1.0, gamma: float = 1.0) -> PaeeLoss:
    """Eq. 12: alpha L_rel + beta L_pot + gamma (L_sub + L_obj) / 2 (the paper: alpha = beta = gamma = 1).
    logits: (n_p, n_classes); potential_logits: (n_p,); sub/obj_logits: (n_e, R); labels: (n_p, n_classes)."""
    relation = adaptive_softmax_loss(logits.float(), labels)
    potential = potential_pair_loss(potential_logits, labels)
    sub_t, obj_t = entity_role_targets(labels, pair_head, pair_tail, sub_logits.shape[0])
    subject, object_ = cross_matching_loss(sub_logits, obj_logits, sub_t, obj_t)
    total = alpha * relation + beta * potential + gamma * (subject + object_) / 2
    return PaeeLoss(total, relation, potential, subject, object_)
