"""P3M's head: the pair embedding f(x), L2-normalised, scored against normalised relation proxies c_0..c_K
(c_0 the none class) with scale lambda, so logits = lambda * c_i . f(x) and column 0 is the threshold.

f(x) is ATLOP's grouped outer product z_s (x) z_o (what the bilinear classifier reads); the proxies are
the rows of a bias-free linear layer (NormFace). Dropout on the backbone's pair features (head, tail,
context) makes every call in train mode a fresh stochastic pass: P3M's augmented positives f(x') are a
second call on the labelled rows (the encoder's own dropout noise is shared by both passes, since a head
sees only one PairRepresentation)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from engine.model.backbone import PairRepresentation
from engine.model.grouped_bilinear import GroupedBilinear, PairExtractor, outer_norms


def proxy_columns(proxies: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(D, n_classes) the proxies as contiguous columns. Not the transposed view: on a CPU with AMX, torch 2.13's
    bf16 matmul of exactly 32 rows against a transposed (97, 49,152) operand dies of SIGFPE in libtorch_cpu
    (half-p3m-s1 crashed at step 80 of its first epoch; `nn.functional.linear` crashes alike, a contiguous
    copy does not). The copy is 9.5 MB in bf16, small beside the (n, 49,152) pair tensor."""
    return proxies.T.to(dtype).contiguous()


@dataclass
class MetricOutput:
    logits: torch.Tensor  # (n_p, n_classes) float32 lambda * c_i . f(x)
    pair: torch.Tensor  # (n_p, emb_size * block_size) the grouped outer product, f(x) before its normalisation
    norms: torch.Tensor  # (n_p,) float32 |pair|

    def unit(self, rows: torch.Tensor | None = None) -> torch.Tensor:
        """(n, D) f(x) = pair / |pair|, float32, for the pairs `rows` (all when None): made only where needed."""
        pair, norms = (self.pair, self.norms) if rows is None else (self.pair[rows], self.norms[rows])
        return pair.float() / norms[:, None]

    @property
    def embedding(self) -> torch.Tensor:
        """(n_p, D) every unit f(x)."""
        return self.unit()


class ProxyBilinear(GroupedBilinear):
    """The grouped outer product with a bias-free classifier whose rows are the proxies c_0..c_K."""

    def __init__(self, emb_size: int, block_size: int, num_classes: int) -> None:
        super().__init__(emb_size, block_size, num_classes)
        self.classifier = nn.Linear(emb_size * block_size, num_classes, bias=False)

    @property
    def proxies(self) -> torch.Tensor:
        """(n_classes, emb_size * block_size) unit-length c_0..c_K."""
        return F.normalize(self.classifier.weight, dim=-1)


class MetricClassifier(nn.Module):
    """PairExtractor + normalised grouped outer product + proxy scores."""

    def __init__(self, hidden_size: int, emb_size: int, block_size: int, num_classes: int, *, scale: float,
                 dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.extractor = PairExtractor(hidden_size, emb_size)
        self.bilinear = ProxyBilinear(emb_size, block_size, num_classes)
        self.scale = scale

    def embed(self, rep: PairRepresentation, rows: torch.Tensor | None = None) -> MetricOutput:
        """f(x) and its scores for every pair, or for the pairs `rows` ((n,) indices); one stochastic pass."""
        head, tail, context = rep.head, rep.tail, rep.context  # (n_p, d) each
        if rows is not None:
            head, tail, context = head[rows], tail[rows], context[rows]  # (n, d)
        # PairExtractor reads only head, tail and context. Departure: the authors' dropout is the encoder's own
        # (attention and hidden), redrawn by a second full encoder pass; here it acts on these pair features.
        dropped = replace(rep, head=self.dropout(head), tail=self.dropout(tail), context=self.dropout(context))
        # Departure: the metric space is the grouped outer product itself (the authors project it to emb_size first)
        z_head, z_tail = self.extractor(dropped)
        pair = self.bilinear.outer(z_head, z_tail)  # (n, emb * bs)
        norms = outer_norms(z_head, z_tail, self.bilinear.emb_size // self.bilinear.block_size)  # (n,)
        # lambda c_i . (f / |f|) = lambda (c_i . f) / |f|: scoring before dividing spares the normalised copy of
        # the whole (n, 49,152) f and its backward, which took longer than the classifier itself (RESULTS.md)
        logits = self.scale * (pair @ proxy_columns(self.bilinear.proxies, pair.dtype)).float() / norms[:, None]
        return MetricOutput(logits=logits, pair=pair, norms=norms)

    def score(self, embedding: torch.Tensor) -> torch.Tensor:
        """(n, n_classes) lambda * c_i . f for unit embeddings f (n, D)."""
        return self.scale * embedding @ proxy_columns(self.bilinear.proxies, embedding.dtype)

    def mix_with_none(self, embedding: torch.Tensor, mu: float | torch.Tensor) -> torch.Tensor:
        """(n, D) unit f_mix = mu f + (1 - mu) c_0 (Eq. 9), renormalised because Eq. 1 needs unit inputs.
        Departure: the authors score the unnormalised mix, whose norm (< 1) shrinks every cosine towards 0."""
        return F.normalize(mu * embedding + (1.0 - mu) * self.bilinear.proxies[0], dim=-1)

    def forward(self, rep: PairRepresentation) -> MetricOutput:
        return self.embed(rep)
