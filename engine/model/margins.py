"""Margins over the "no relation" class: each relation's logit compared with class 0 alone. NCRL (Eq. 2),
PEMSCL (Eq. 4) and P3M (Eq. 1) build their losses on `label_margin_nll`; editing one paper's file never
changes another's."""
from __future__ import annotations

import torch
import torch.nn.functional as F

NEG_INF = -1e30  # a logit that softmax turns into a probability of exactly 0


def relation_margins(logits: torch.Tensor) -> torch.Tensor:
    """(n_pairs, R): each relation's logit minus the threshold logit in column 0; > 0 means predicted."""
    return logits[:, 1:] - logits[:, :1]


def label_margin_nll(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(-log sigmoid(f_i - f_0), -log sigmoid(f_0 - f_i)), each (n_pairs, R): the cost of calling relation i
    positive, resp. negative, when it only competes with the none class in column 0."""
    margins = relation_margins(logits)  # (n_p, R) positive margins m+
    return F.softplus(-margins), F.softplus(margins)


def mean_over_pairs(per_pair: torch.Tensor) -> torch.Tensor:
    """Mean of (n_pairs,) values; 0 (still in the graph) for a batch without entity pairs, where a plain mean is
    NaN: documents with fewer than two entities have no pair."""
    return per_pair.mean() if per_pair.numel() else per_pair.sum()
