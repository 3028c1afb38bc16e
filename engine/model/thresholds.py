"""ATLOP's adaptive-thresholding loss (Zhou et al., 2021), as a pure function.

Positive part: softmax over {positive classes, TH} pushes each positive above the threshold class;
negative part: softmax over {negative classes, TH} pushes TH above every negative. Unlike the reference
code, labels are never written into."""
from __future__ import annotations

import torch

NEG_INF = -1e30


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


def threshold_decode(logits: torch.Tensor, top_k: int = 0) -> torch.Tensor:
    """(n_pairs, R) bool: relations whose logit exceeds the threshold; top_k > 0 keeps at most the k best."""
    margins = logits[:, 1:] - logits[:, :1]  # (n_p, R)
    decoded = margins > 0
    if top_k > 0 and top_k < margins.shape[1]:
        kth = margins.topk(top_k, dim=1).values[:, -1:]  # (n_p, 1)
        decoded &= margins >= kth
    return decoded


def threshold_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """(n_pairs, n_classes): sigmoid of each relation's margin over the threshold; column 0 the
    probability that no relation clears it (sigmoid of threshold minus the best relation)."""
    margins = logits[:, 1:] - logits[:, :1]
    none = torch.sigmoid(-margins.max(dim=1, keepdim=True).values) if margins.shape[1] else torch.ones_like(logits[:, :1])
    return torch.cat([none, torch.sigmoid(margins)], dim=1)
