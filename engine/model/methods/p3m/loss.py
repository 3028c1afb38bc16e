"""P3M (Wang et al., 2024): positive-unlabeled metric learning, as pure functions over proxy logits.

Logits are lambda * c_i . f(x) with f(x) and the proxies c_0..c_K L2-normalised, column 0 the none class.
The metric loss of Eq. 1, l(f, c_i, c_0) = -log softmax over {c_i, c_0}, is the pairwise comparison of
NCRL/PEMSCL (`label_margin_nll`): l(f, c_i, c_0) = softplus(s_0 - s_i), l(f, c_0, c_i) = softplus(s_i - s_0).

- `pu_metric_risk`: Eq. 5 (PM): per relation i, the class-weighted positive risk plus the prior-shifted
  negative risk estimated from unlabelled pairs, clamped at 0 (non-negative risk); with augmented
  positives (a second dropout pass) it is Eq. 7 (P2M): positive means run over both copies.
- `positive_mixup_loss`: Eq. 11, positives mixed with the none-class proxy, f_mix = mu f + (1 - mu) c_0.

Per-relation means run over the batch; a relation with no labelled pair in the batch has no positive risk."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.model.margins import label_margin_nll

PRIOR_MIN, PRIOR_MAX = 1e-6, 0.99  # keep gamma_i = ((1 - pi) / pi) ** 0.5 and 1 / (1 - pi_u) finite


@dataclass(frozen=True)
class ClassPriors:
    """Per relation (R,): pi_i = p(y_i = +1), the true positive prior, and pi_labeled,i = p(s_i = +1)."""

    pi: torch.Tensor
    pi_labeled: torch.Tensor

    @classmethod
    def from_labeled(cls, pi_labeled: torch.Tensor, multiplier: float) -> "ClassPriors":
        """pi_i = multiplier * pi_labeled,i (the paper: 1 fully labelled, 3 DocRED, 12 extreme), clamped."""
        pi = (pi_labeled * multiplier).clamp(PRIOR_MIN, PRIOR_MAX)
        return cls(pi=pi, pi_labeled=torch.minimum(pi_labeled.clamp(min=0.0), pi))

    @property
    def pi_unlabeled(self) -> torch.Tensor:
        """pi_u,i = p(y_i = +1 | s_i = -1) = (pi_i - pi_labeled,i) / (1 - pi_labeled,i): the prior shift."""
        return (self.pi - self.pi_labeled) / (1.0 - self.pi_labeled)

    @property
    def class_weight(self) -> torch.Tensor:
        """gamma_i = ((1 - pi_i) / pi_i) ** 0.5, on the positive risk against class imbalance (the note under Eq. 5).
        It sets the operating point: a logistic loss whose positives weigh gamma_i puts Eq. 1's rule (margin > 0) at
        a posterior of 1 / (1 + gamma_i), about 0.04-0.13 for Re-DocRED's ten most frequent relations at k = 1, so
        P3M leans to recall by design (the paper's P3M has lower precision than SSR-PU). Without it (gamma_i = 1)
        the k = 1 risk is a plain 1:800 imbalanced logistic loss and a warm-started head stopped predicting at all."""
        return ((1.0 - self.pi) / self.pi).sqrt()


def pu_metric_risk(logits: torch.Tensor, labels: torch.Tensor, priors: ClassPriors, *,
                   augmented_logits: torch.Tensor | None = None,
                   augmented_labels: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. 5, or Eq. 7 with the augmented positives. logits, labels: (n_pairs, R + 1); augmented_*: (n_aug,
    R + 1), rows of labelled pairs from a second stochastic pass (they count as positives only: the
    unlabelled prior does not change). Returns the sum over relations of
    gamma_i pi_i E_P[l(c_i)] + max(0, (1 - pi_i)/(1 - pi_u,i) E_U[l(c_0)] - pi_u,i (1 - pi_i)/(1 - pi_u,i)
    E_P[l(c_0)])."""
    labelled = (labels[:, 1:] > 0).to(logits.dtype)  # (n_p, R) s_i = +1
    pos_nll, neg_nll = label_margin_nll(logits)  # (n_p, R) l(f, c_i, c_0), l(f, c_0, c_i)
    unlabelled_none = ((1.0 - labelled) * neg_nll).sum(0) / (1.0 - labelled).sum(0).clamp(min=1)  # (R,) E_U[l(c_0)]
    if augmented_logits is not None:
        aug_pos, aug_neg = label_margin_nll(augmented_logits)
        pos_nll, neg_nll = torch.cat([pos_nll, aug_pos]), torch.cat([neg_nll, aug_neg])  # (n_p + n_aug, R)
        labelled = torch.cat([labelled, (augmented_labels[:, 1:] > 0).to(logits.dtype)])
    n_positive = labelled.sum(0).clamp(min=1)  # (R,) n_P (2 n_P with augmentation)
    positive_target = (labelled * pos_nll).sum(0) / n_positive  # (R,) E_P[l(c_i)]
    positive_none = (labelled * neg_nll).sum(0) / n_positive  # (R,) E_P[l(c_0)]
    pi, pi_u = priors.pi.to(logits.dtype), priors.pi_unlabeled.to(logits.dtype)
    positive_risk = priors.class_weight.to(logits.dtype) * pi * positive_target
    negative_risk = (1.0 - pi) / (1.0 - pi_u) * unlabelled_none - (pi_u - pi_u * pi) / (1.0 - pi_u) * positive_none
    # Eq. 5's max(0, .). Departure: the authors' nnPU step instead trains on -negative_risk alone when it is < 0.
    return (positive_risk + negative_risk.clamp(min=0.0)).sum()


def positive_mixup_loss(mixed_logits: torch.Tensor, mixed_labels: torch.Tensor,
                        mu: float | torch.Tensor) -> torch.Tensor:
    """Eq. 11: mixed_logits (n_mix, R + 1) score f_mix = mu f(x) + (1 - mu) c_0 of labelled pairs (original and
    augmented); each is pulled to c_i with weight mu and to c_0 with weight 1 - mu, for its labelled relations
    i. Mean over each relation's mixed positives, sum over relations."""
    labelled = (mixed_labels[:, 1:] > 0).to(mixed_logits.dtype)  # (n_mix, R)
    pos_nll, neg_nll = label_margin_nll(mixed_logits)
    per_relation = (labelled * (mu * pos_nll + (1.0 - mu) * neg_nll)).sum(0) / labelled.sum(0).clamp(min=1)  # (R,)
    return per_relation.sum()
