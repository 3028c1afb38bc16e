"""The learned "no relation" threshold (class 0) at decode time: which relations a pair is predicted to
hold, and the margin probabilities every view and the review queue read. Shared by every method."""
from __future__ import annotations

import torch

from engine.model.margins import relation_margins


def threshold_decode(logits: torch.Tensor, top_k: int = 0) -> torch.Tensor:
    """(n_pairs, R) bool: relations whose logit exceeds the threshold; top_k > 0 keeps at most the k best."""
    margins = relation_margins(logits)  # (n_p, R)
    decoded = margins > 0
    if top_k > 0 and top_k < margins.shape[1]:
        kth = margins.topk(top_k, dim=1).values[:, -1:]  # (n_p, 1)
        decoded &= margins >= kth
    return decoded


def threshold_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """(n_pairs, n_classes): sigmoid of each relation's margin over the threshold; column 0 the
    probability that no relation clears it (sigmoid of threshold minus the best relation)."""
    margins = relation_margins(logits)  # (n_p, R)
    none = (torch.sigmoid(-margins.max(dim=1, keepdim=True).values) if margins.shape[1]
            else torch.ones_like(logits[:, :1]))
    return torch.cat([none, torch.sigmoid(margins)], dim=1)
