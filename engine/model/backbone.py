"""The ATLOP pair representation, once for every method: mention states at the start markers,
logsumexp entity pooling, and the localized context each pair draws from the last layer's attention.
Vectorised over the batch with gathers and einsums: no Python loop over entities or pairs."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.model.encoder import EncodedBatch
from engine.model.features import Batch


@dataclass
class PairRepresentation:
    """Everything a head needs. Shapes: n_m mentions, n_e entities, n_p pairs, d hidden, L doc length."""

    mention: torch.Tensor  # (n_m, d) state at each mention's start marker
    entity: torch.Tensor  # (n_e, d) logsumexp over the entity's mentions
    mention_attention: torch.Tensor  # (n_m, heads, L) last-layer attention from each mention's start marker
    entity_attention: torch.Tensor  # (n_e, heads, L) mean attention of the entity's mentions
    head: torch.Tensor  # (n_p, d) entity embedding of each pair's head
    tail: torch.Tensor  # (n_p, d)
    context: torch.Tensor  # (n_p, d) localized context c_{h,t}
    context_attention: torch.Tensor  # (n_p, L) the normalised attention q_{h,t} the context is drawn with
    states: torch.Tensor  # (n_docs, L, d) token states, for heads that need more than the pair view


def entity_pool(mention: torch.Tensor, mention_attention: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(n_e, d) logsumexp-pooled entity states and (n_e, heads, L) mean mention attention."""
    mask = batch.entity_mention_mask  # (n_e, k)
    gathered = mention[batch.entity_mentions]  # (n_e, k, d)
    gathered = gathered.masked_fill(~mask[..., None], float("-inf"))
    entity = torch.logsumexp(gathered, dim=1)  # (n_e, d)
    att = mention_attention[batch.entity_mentions] * mask[..., None, None].to(mention_attention.dtype)  # (n_e, k, heads, L)
    entity_attention = att.sum(1) / mask.sum(1).clamp(min=1)[:, None, None].to(att.dtype)  # (n_e, heads, L)
    return entity, entity_attention


def mean_head_product(entity_attention: torch.Tensor, pair_head: torch.Tensor, pair_tail: torch.Tensor) -> torch.Tensor:
    """(n_p, L) mean over attention heads of A_head * A_tail, accumulated one head at a time: gathering all
    heads at once builds two (n_p, heads, L) copies and reduces over a strided axis, about 4x slower."""
    heads = entity_attention.shape[1]
    q = entity_attention[pair_head, 0] * entity_attention[pair_tail, 0]  # (n_p, L)
    for k in range(1, heads):
        q = q.addcmul_(entity_attention[pair_head, k], entity_attention[pair_tail, k])
    return q / heads


def localized_context(states: torch.Tensor, entity_attention: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """ATLOP's c_{h,t} = H^T q, q = normalised mean over heads of A_h * A_t. Returns (context, q)."""
    q = mean_head_product(entity_attention, batch.pair_head, batch.pair_tail)  # (n_p, L)
    q = q / (q.sum(1, keepdim=True) + 1e-5)  # (n_p, L)
    # Pairs are grouped by document; scatter into (n_docs, max_pairs, L) for one batched matmul.
    offsets = batch.doc_pair_offsets
    local = torch.arange(q.shape[0], device=q.device) - offsets[batch.pair_doc]  # (n_p,)
    max_pairs = int((offsets[1:] - offsets[:-1]).max()) if q.shape[0] else 0
    padded = q.new_zeros(states.shape[0], max(max_pairs, 1), q.shape[1])
    padded[batch.pair_doc, local] = q  # (n_docs, max_pairs, L)
    context = torch.bmm(padded, states)[batch.pair_doc, local]  # (n_p, d)
    return context, q


class AtlopBackbone(nn.Module):
    """Parameter-free: it reads the encoder's states and attention; heads own the trainable parts."""

    def forward(self, encoded: EncodedBatch, batch: Batch) -> PairRepresentation:
        states = encoded.states
        mention = states[batch.mention_doc, batch.mention_pos]  # (n_m, d)
        entity, entity_attention = entity_pool(mention, encoded.mention_attention, batch)
        context, q = localized_context(states, entity_attention, batch)
        return PairRepresentation(mention=mention, mention_attention=encoded.mention_attention, entity=entity,
                                  entity_attention=entity_attention,
                                  head=entity[batch.pair_head], tail=entity[batch.pair_tail], context=context,
                                  context_attention=q, states=states)
