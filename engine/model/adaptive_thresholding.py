"""ATLOP's adaptive-thresholding loss (Zhou et al., 2021), shared by ATLOP, PAEE and KMGRE.

Positive part: softmax over {positive classes, TH} pushes each positive above the threshold class;
negative part: softmax over {negative classes, TH} pushes TH above every negative. Unlike the reference
code, labels are never written into."""
from __future__ import annotations

import torch

from engine.model.margins import NEG_INF


def adaptive_threshold_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """logits, labels: (n_pairs, n_classes), column 0 the threshold; labels multi-hot (column 0 ignored)."""
    if logits.shape[0] == 0:  # a batch without entity pairs: zero loss that keeps the graph
        return logits.sum() * 0.0
    positives = labels[:, 1:].to(logits.dtype)  # (n_p, R)
    ones = torch.ones_like(logits[:, :1])
    positive_mask = torch.cat([ones, positives], dim=1)  # TH + positives
    negative_mask = torch.cat([ones, 1.0 - positives], dim=1)  # TH + negatives
    log_p_pos = torch.log_softmax(logits.masked_fill(positive_mask == 0, NEG_INF), dim=-1)
    loss_pos = -(log_p_pos[:, 1:] * positives).sum(1)  # (n_p,)
    loss_neg = -torch.log_softmax(logits.masked_fill(negative_mask == 0, NEG_INF), dim=-1)[:, 0]  # (n_p,)
    return (loss_pos + loss_neg).mean()
