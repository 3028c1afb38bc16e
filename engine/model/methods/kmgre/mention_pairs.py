"""KMGRE's mention-pair view (Jiang et al., COLING 2022): every (head mention, tail mention) pair of every
entity pair, its representation with a mention-pair localized context (Eq. 4-5), and the key-instance
classifier (Eq. 7-8). The mention-level relation extractor (Eq. 6) is a linear layer over the same
representation and lives in the method.

Mention pairs are flattened over the batch (ordered by entity pair, then head mention, then tail mention,
so they are grouped by document) and padded per entity pair only for the per-pair reductions."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from engine.data.pair_extras import MentionPairGrid
from engine.model.backbone import AtlopBackbone, PairRepresentation
from engine.model.encoder import DocumentEncoder
from engine.model.features import Batch


@dataclass
class MentionPairIndex:
    """Which mention pairs the batch scores. n_mp mention pairs, n_p entity pairs, G = width."""

    pair: torch.Tensor  # (n_mp,) entity pair (row of batch.pair_head)
    head_slot: torch.Tensor  # (n_mp,) index of the head mention among its entity's mentions
    tail_slot: torch.Tensor  # (n_mp,) index of the tail mention among its entity's mentions
    head_mention: torch.Tensor  # (n_mp,) global mention index
    tail_mention: torch.Tensor  # (n_mp,)
    slot: torch.Tensor  # (n_mp,) column in the padded (n_p, G) layout
    doc: torch.Tensor  # (n_mp,) document, non-decreasing
    num_pairs: int
    width: int  # G: the most mention pairs an entity pair keeps

    @property
    def mask(self) -> torch.Tensor:
        """(n_p, G) True where a slot holds a mention pair."""
        mask = torch.zeros(self.num_pairs, self.width, dtype=torch.bool, device=self.pair.device)
        mask[self.pair, self.slot] = True
        return mask

    def pad(self, values: torch.Tensor, fill: float) -> torch.Tensor:
        """(n_mp, ...) -> (n_p, G, ...), `fill` in empty slots; differentiable."""
        padded = values.new_full((self.num_pairs, self.width, *values.shape[1:]), fill)
        return padded.index_put((self.pair, self.slot), values)  # (n_p, G, ...)


def build_mention_pairs(batch: Batch, max_mention_pairs: int = 0) -> MentionPairIndex:
    """The (n_head_mentions x n_tail_mentions) grid of every entity pair, flattened over the batch.

    With max_mention_pairs > 0, an entity pair with more mention pairs keeps the max_mention_pairs whose
    start markers are closest in token distance (ties: earlier head, then earlier tail mention); the rest
    are dropped: not scored, not in the fusion or either loss, and shown with probability 0 in the grids."""
    heads = batch.entity_mentions[batch.pair_head]  # (n_p, k) global mention indices
    tails = batch.entity_mentions[batch.pair_tail]  # (n_p, k)
    valid = (batch.entity_mention_mask[batch.pair_head][:, :, None]
             & batch.entity_mention_mask[batch.pair_tail][:, None, :])
    n_p, k = heads.shape
    flat = valid.view(n_p, k * k)  # (n_p, k*k) row-major over (head slot, tail slot)
    if 0 < max_mention_pairs < k * k:
        pos = batch.mention_pos
        distance = (pos[heads][:, :, None] - pos[tails][:, None, :]).abs().view(n_p, k * k)  # (n_p, k*k)
        distance = distance.masked_fill(~flat, torch.iinfo(distance.dtype).max)
        order = distance.argsort(dim=1, stable=True)  # (n_p, k*k) closest first
        rank = torch.empty_like(order).scatter_(1, order, torch.arange(k * k, device=order.device).expand(n_p, -1))
        flat = flat & (rank < max_mention_pairs)  # (n_p, k*k)
    pair, cell = flat.nonzero(as_tuple=True)  # (n_mp,) each, sorted by pair then cell
    slot = (flat.cumsum(1) - 1)[pair, cell]  # (n_mp,) rank of the cell among its pair's kept cells
    head_slot, tail_slot = cell // k, cell % k
    width = int(flat.sum(1).max()) if n_p else 1
    return MentionPairIndex(pair=pair, head_slot=head_slot, tail_slot=tail_slot, head_mention=heads[pair, head_slot],
                            tail_mention=tails[pair, tail_slot], slot=slot, doc=batch.pair_doc[pair], num_pairs=n_p,
                            width=max(width, 1))


def document_matmul(weights: torch.Tensor, doc: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """weights[i] @ states[doc[i]] for rows grouped by document (doc non-decreasing), as one batched
    matmul over a (n_docs, rows per doc, L) padding instead of gathering (n, L, d) states."""
    n_docs = states.shape[0]
    counts = torch.bincount(doc, minlength=n_docs)  # (n_docs,)
    local = torch.arange(doc.shape[0], device=doc.device) - (counts.cumsum(0) - counts)[doc]  # (n,) row within its doc
    padded = weights.new_zeros(n_docs, max(int(counts.max()) if doc.numel() else 0, 1), weights.shape[1])
    padded[doc, local] = weights  # (n_docs, max_rows, L)
    return torch.bmm(padded, states)[doc, local]  # (n, d)


def mention_pair_features(rep: PairRepresentation, index: MentionPairIndex) -> torch.Tensor:
    """Eq. 4-5: x = [h_mi; h_mj; c], c = H^T a with a the per-head normalised A_mi * A_mj averaged over
    heads. Eq. 4 sums the heads; the mean differs by the constant H, which w_c absorbs, and keeps c on the
    scale of the token states as in ATLOP. Returns (n_mp, 3d)."""
    if torch.is_grad_enabled() and (rep.mention_attention.requires_grad or rep.states.requires_grad):
        # Training: recompute the (n_mp, heads, L) products in backward instead of keeping them. Kept, they were
        # about 4 of them per mention pair (gathers, product, normalised copy), e.g. 12 x 512 x 4 x 4 B = 100 kB,
        # per encoder: the bulk of the grid's 10 GB peak with two encoders in warm-up. Same values and gradients.
        context = checkpoint(_pair_context, rep.mention_attention, rep.states, index.head_mention,
                             index.tail_mention, index.doc, use_reentrant=False)  # (n_mp, d)
    else:
        context = _pair_context(rep.mention_attention, rep.states, index.head_mention, index.tail_mention, index.doc)
    return torch.cat([rep.mention[index.head_mention], rep.mention[index.tail_mention], context], dim=-1)  # (n_mp, 3d)


def _pair_context(attention: torch.Tensor, states: torch.Tensor, head: torch.Tensor, tail: torch.Tensor,
                  doc: torch.Tensor) -> torch.Tensor:
    """Eq. 4's c for each mention pair: (n_mentions, heads, L) attention, (n_docs, L, d) states -> (n_mp, d)."""
    joint = attention[head] * attention[tail]  # (n_mp, heads, L)
    joint = (joint / (joint.sum(-1, keepdim=True) + 1e-5)).mean(1)  # (n_mp, L)
    return document_matmul(joint, doc, states)  # (n_mp, d)


class KeyInstanceClassifier(nn.Module):
    """Eq. 7-8: p_omega(z = 1 | m_i, m_j), from features x' of the mention pair.

    - With an `encoder` (key_encoder = separate, the paper): x' comes from that second encoder, run on the
      batch again, and the score is Eq. 8's linear sigmoid(w_k x' + b_k): omega is a whole encoder.
    - Without one (key_encoder = shared), x' is the relation extractor's x, detached, so that the E-step's loss
      never reaches the shared encoder (the paper's "avoid mutual interference"). omega then owns no features,
      so it is a small MLP (3d -> mlp_hidden -> 1, GELU) that can still carve its own decision surface out of
      them: one encoder pass instead of two, and no encoder backward in an E-step.
    - mlp_hidden = 0 with `shared` is kmgre.v1's linear probe on the detached features (about 3d + 1
      parameters for a whole E-step epoch); kept so that the shipped model loads and scores as trained."""

    def __init__(self, hidden_size: int, encoder: DocumentEncoder | None = None, mlp_hidden: int = 0) -> None:
        super().__init__()
        self.encoder = encoder
        self.backbone = AtlopBackbone() if encoder is not None else None
        if encoder is None and mlp_hidden > 0:
            self.scorer: nn.Module = nn.Sequential(nn.Linear(3 * hidden_size, mlp_hidden), nn.GELU(),
                                                   nn.Linear(mlp_hidden, 1))
        else:
            self.scorer = nn.Linear(3 * hidden_size, 1)  # w_k, b_k of Eq. 8

    def forward(self, shared_features: torch.Tensor, batch: Batch, index: MentionPairIndex) -> torch.Tensor:
        """(n_mp,) key-instance logits (the argument of Eq. 8's sigmoid)."""
        if self.encoder is None:
            features = shared_features.detach()  # (n_mp, 3d), no gradient to the shared encoder
        else:
            features = mention_pair_features(self.backbone(self.encoder(batch), batch), index)  # (n_mp, 3d)
        return self.scorer(features).squeeze(-1)  # (n_mp,)


def to_mention_grids(index: MentionPairIndex, batch: Batch, key_probability: torch.Tensor,
                     relation_probability: torch.Tensor) -> list[MentionPairGrid]:
    """One MentionPairGrid per entity pair (batch order): key_probability (n_mp,), relation_probability
    (n_mp, R) scattered into (n_h, n_t) and (n_h, n_t, R); mention pairs dropped by the cap stay 0."""
    counts = batch.entity_mention_mask.sum(1)  # (n_e,)
    n_heads = counts[batch.pair_head].tolist()
    n_tails = counts[batch.pair_tail].tolist()
    bounds = np.concatenate([[0], np.cumsum(np.bincount(index.pair.cpu().numpy(), minlength=index.num_pairs))])
    key = key_probability.float().cpu().numpy()
    rel = relation_probability.float().cpu().numpy()
    hs, ts = index.head_slot.cpu().numpy(), index.tail_slot.cpu().numpy()
    grids = []
    for p, (n_h, n_t) in enumerate(zip(n_heads, n_tails)):  # building output objects, not the forward math
        rows = slice(bounds[p], bounds[p + 1])
        key_grid = np.zeros((n_h, n_t), dtype=np.float32)
        rel_grid = np.zeros((n_h, n_t, rel.shape[1]), dtype=np.float32)
        key_grid[hs[rows], ts[rows]] = key[rows]
        rel_grid[hs[rows], ts[rows]] = rel[rows]
        grids.append(MentionPairGrid(key_grid, rel_grid))
    return grids
