"""NCRL (Zhou and Lee, 2022): the None Class Ranking Loss, as pure functions.

Every relation is compared with the none class alone: the positive margin m+ = f_i - f_0 and the
negative margin m- = f_0 - f_i each go through a sigmoid (Eq. 2). Margin regularisation (Eq. 5) adds the
same comparison between f_0 and the mean relation score; margin shifting (Eq. 6) lifts every negative
probability by gamma, clamped at 1, so suspected false negatives weigh less and easy negatives cost nothing."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.model.margins import label_margin_nll, mean_over_pairs


def shifted_negative_nll(negative_margin: torch.Tensor, shift: float) -> torch.Tensor:
    """-log p-, with p- = min(sigmoid(m-) + shift, 1) (Eq. 6).

    The paper prints max(sigmoid(m-) + gamma, 1), which is 1 for every input (a constant, zero loss); its
    own text ("very easy samples with sigmoid(m-) > 1 - gamma get a zero loss") describes a clamp at 1,
    i.e. min. We read it as min."""
    if shift <= 0:
        return F.softplus(-negative_margin)  # -log sigmoid(m-)
    p = (torch.sigmoid(negative_margin) + shift).clamp(max=1.0)  # >= shift > 0: the log is finite
    return -torch.log(p)


def ncrl_loss(logits: torch.Tensor, labels: torch.Tensor, *, shift: float = 0.0,
              margin_regularization: bool = True) -> torch.Tensor:
    """NCRL (Eq. 7), mean over pairs. logits, labels: (n_pairs, R + 1), column 0 the none class; labels
    multi-hot with column 0 = 1 iff the pair has no relation (y_0 of Eq. 5)."""
    positives = labels[:, 1:].to(logits.dtype)  # (n_p, R)
    pos_nll, _ = label_margin_nll(logits)
    margins = logits[:, 1:] - logits[:, :1]  # (n_p, R) m+; m- = -m+
    per_pair = (positives * pos_nll + (1.0 - positives) * shifted_negative_nll(-margins, shift)).sum(1)  # (n_p,)
    if margin_regularization:
        y0 = labels[:, 0].to(logits.dtype)  # (n_p,)
        m0 = logits[:, 0] - logits[:, 1:].mean(1)  # (n_p,) m0+ = f_0 - mean_i f_i
        per_pair = per_pair + y0 * F.softplus(-m0) + (1.0 - y0) * shifted_negative_nll(-m0, shift)
    return mean_over_pairs(per_pair)
