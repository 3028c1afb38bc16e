"""KMGRE's losses (Jiang et al., COLING 2022), as pure functions over padded mention-pair grids.

Every tensor is laid out per entity pair: `(n_pairs, G, ...)` with G the most mention pairs any entity
pair keeps and `mask` (n_pairs, G) marking the real ones, so each equation is one masked reduction.

E-step: pseudo labels (Eq. 9) and the key-instance focal loss (Eq. 10-11).
M-step: the relaxed threshold (Eq. 12-13), the key/non-key split (Eq. 14-15), logsumexp fusion of the key
pairs' logits (Eq. 16) and the threshold-class loss on the fused logits (Eq. 17-19)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.model.adaptive_thresholding import adaptive_threshold_loss

NEG_INF = float("-inf")


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over dim 1 of the real entries; values (n_p, G, ...) and mask (n_p, G) -> (n_p, ...)."""
    weights = mask.to(values.dtype).view(*mask.shape, *([1] * (values.dim() - 2)))  # (n_p, G, 1...)
    return (values * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def key_pseudo_labels(relation_probability: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 9: a mention pair is key iff, for some gold relation c of its entity pair, its p_theta(y_c) is at
    least the entity pair's mean over its mention pairs.

    relation_probability: (n_p, G, R) mention-level probabilities (no threshold column); labels: (n_p, R + 1)
    multi-hot, column 0 the threshold class; returns (n_p, G) bool (False on padding and on negative pairs)."""
    mean = masked_mean(relation_probability, mask)  # (n_p, R) \bar p_theta(y_c | e_h, e_t)
    gold = labels[:, 1:].bool()[:, None, :]  # (n_p, 1, R)
    return ((relation_probability >= mean[:, None, :]) & gold).any(-1) & mask  # (n_p, G)


def key_focal_loss(key_logits: torch.Tensor, pseudo: torch.Tensor, mask: torch.Tensor, *,
                   alpha: float, gamma: float) -> torch.Tensor:
    """Eq. 10-11: -alpha (1 - p_t)^gamma log p_t, p_t = p_omega if the pseudo label is 1 else 1 - p_omega;
    mean over the real mention pairs. Taken from logits so log p_t is stable.

    The paper prints one alpha for both labels (Lin et al.'s alpha-balanced form weights negatives by
    1 - alpha); as printed, alpha only scales the loss against the M-step's."""
    sign = pseudo.to(key_logits.dtype) * 2.0 - 1.0  # +1 key, -1 non-key
    log_pt = F.logsigmoid(sign * key_logits)  # (n_p, G) log p_t
    loss = -alpha * (1.0 - log_pt.exp()).pow(gamma) * log_pt
    weights = mask.to(loss.dtype)
    return (loss * weights).sum() / weights.sum().clamp(min=1.0)


def key_threshold(key_probability: torch.Tensor, mask: torch.Tensor, *, xi: float, tau: float) -> torch.Tensor:
    """Eq. 12-13: min(mean + xi (max - min), tau) of p_omega over each entity pair's mention pairs -> (n_p,)."""
    mean = masked_mean(key_probability, mask)  # (n_p,) Eq. 12
    high = key_probability.masked_fill(~mask, NEG_INF).amax(1)  # (n_p,)
    low = key_probability.masked_fill(~mask, float("inf")).amin(1)  # (n_p,)
    return torch.clamp(mean + xi * (high - low), max=tau)  # (n_p,) Eq. 13


def split_key_pairs(key_probability: torch.Tensor, mask: torch.Tensor, *, xi: float, tau: float) -> torch.Tensor:
    """Eq. 14-15: (n_p, G) bool, True for X_pos (p_omega >= threshold), False for X_neg and padding.

    The entity pair's most probable mention pair is always in X_pos: Eq. 13 can exceed the maximum (a mean
    close to it plus xi times the range), and an empty X_pos would leave Eq. 16 undefined."""
    threshold = key_threshold(key_probability, mask, xi=xi, tau=tau)  # (n_p,)
    positive = (key_probability >= threshold[:, None]) & mask  # (n_p, G)
    best = key_probability.masked_fill(~mask, NEG_INF).argmax(1)  # (n_p,)
    positive[torch.arange(mask.shape[0], device=mask.device), best] = True
    return positive & mask


def fuse_key_logits(mention_logits: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Eq. 16: l_c = log sum_{X_pos} exp(w_c x + b_c), the threshold class fused like any other.
    mention_logits (n_p, G, C), positive (n_p, G) with at least one True per row -> (n_p, C)."""
    return torch.logsumexp(mention_logits.masked_fill(~positive[..., None], NEG_INF), dim=1)  # (n_p, C)


def threshold_class_loss(fused_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 17-19 on the fused logits: ATLOP's adaptive-thresholding loss, reused as is.

    The paper prints N_T = C \\ N_T below Eq. 19, a typo: the negative set is N_T = C \\ P_T, the relations the
    entity pair does not hold, which is what the ATLOP loss (and the paper's stated source) uses."""
    return adaptive_threshold_loss(fused_logits, labels)
