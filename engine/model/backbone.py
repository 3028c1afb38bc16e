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


def entity_pool(mention: torch.Tensor, mention_attention: torch.Tensor,
                batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(n_e, d) logsumexp-pooled entity states and (n_e, heads, L) mean mention attention."""
    mask = batch.entity_mention_mask  # (n_e, k)
    gathered = mention[batch.entity_mentions]  # (n_e, k, d)
    gathered = gathered.masked_fill(~mask[..., None], float("-inf"))
    entity = torch.logsumexp(gathered, dim=1)  # (n_e, d)
    # Attention is summed per entity with index_add, not gathered into (n_e, k, heads, L): padded to the entity
    # with the most mentions, that gather held n_e * k copies of a (heads, L) row, tens of GB on a long text
    # where one entity recurs a hundred times. Every mention belongs to exactly one entity (see collate).
    ent, slot = mask.nonzero(as_tuple=True)  # (n_m,) each
    mention_entity = torch.empty(mention_attention.shape[0], dtype=torch.long, device=mask.device)
    mention_entity[batch.entity_mentions[ent, slot]] = ent  # (n_m,) entity of each mention
    summed = mention_attention.new_zeros(mask.shape[0], *mention_attention.shape[1:])
    summed = summed.index_add(0, mention_entity, mention_attention)  # (n_e, heads, L)
    entity_attention = summed / mask.sum(1).clamp(min=1)[:, None, None].to(summed.dtype)  # (n_e, heads, L)
    return entity, entity_attention


def mean_head_product(entity_attention: torch.Tensor, pair_head: torch.Tensor, pair_tail: torch.Tensor) -> torch.Tensor:
    """(n_p, L) mean over attention heads of A_head * A_tail, accumulated one head at a time: gathering all
    heads at once builds two (n_p, heads, L) copies and reduces over a strided axis, about 4x slower."""
    heads = entity_attention.shape[1]
    q = entity_attention[pair_head, 0] * entity_attention[pair_tail, 0]  # (n_p, L)
    for k in range(1, heads):
        q = q.addcmul_(entity_attention[pair_head, k], entity_attention[pair_tail, k])
    return q / heads


def localized_context(states: torch.Tensor, entity_attention: torch.Tensor,
                      batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """ATLOP's c_{h,t} = H^T q, q = normalised mean over heads of A_h * A_t. Returns (context, q)."""
    q = mean_head_product(entity_attention, batch.pair_head, batch.pair_tail)  # (n_p, L)
    q = q / (q.sum(1, keepdim=True) + 1e-5)  # (n_p, L)
    if q.shape[0] == 0:
        return q.new_zeros(0, states.shape[-1]), q
    # Pairs are grouped by document. Only the documents this batch's pairs come from take part (a chunk of a
    # huge document's pairs is one document): one matmul for one, else a scatter into (docs, max_pairs, L).
    first, last = int(batch.pair_doc[0]), int(batch.pair_doc[-1])
    if first == last:
        return q @ states[first], q  # (n_p, d)
    offsets = batch.doc_pair_offsets
    local = torch.arange(q.shape[0], device=q.device) - offsets[batch.pair_doc]  # (n_p,)
    doc = batch.pair_doc - first  # (n_p,)
    max_pairs = int((offsets[1:] - offsets[:-1]).max())
    padded = q.new_zeros(last - first + 1, max_pairs, q.shape[1])
    padded[doc, local] = q  # (docs, max_pairs, L)
    context = torch.bmm(padded, states[first:last + 1])[doc, local]  # (n_p, d)
    return context, q


@dataclass
class EntityRepresentation:
    """What the pairs are built from, computed once per batch. Shapes as in PairRepresentation."""

    mention: torch.Tensor  # (n_m, d)
    entity: torch.Tensor  # (n_e, d)
    mention_attention: torch.Tensor  # (n_m, heads, L)
    entity_attention: torch.Tensor  # (n_e, heads, L)
    states: torch.Tensor  # (n_docs, L, d)


class AtlopBackbone(nn.Module):
    """Parameter-free: it reads the encoder's states and attention; heads own the trainable parts.

    Split in two so that inference can build the pair view a chunk of pairs at a time (DocREModel.infer):
    `entities` is O(entities x length), `pairs` O(pairs x length), which is what grows without bound."""

    def entities(self, encoded: EncodedBatch, batch: Batch) -> EntityRepresentation:
        states = encoded.states
        mention = states[batch.mention_doc, batch.mention_pos]  # (n_m, d)
        entity, entity_attention = entity_pool(mention, encoded.mention_attention, batch)
        return EntityRepresentation(mention=mention, entity=entity, mention_attention=encoded.mention_attention,
                                    entity_attention=entity_attention, states=states)

    def pairs(self, entities: EntityRepresentation, batch: Batch) -> PairRepresentation:
        """The pair view of the batch's pairs (all of them, or the chunk Batch.select_pairs kept)."""
        context, q = localized_context(entities.states, entities.entity_attention, batch)
        entity = entities.entity
        return PairRepresentation(mention=entities.mention, mention_attention=entities.mention_attention, entity=entity,
                                  entity_attention=entities.entity_attention, head=entity[batch.pair_head],
                                  tail=entity[batch.pair_tail], context=context, context_attention=q,
                                  states=entities.states)

    def forward(self, encoded: EncodedBatch, batch: Batch) -> PairRepresentation:
        return self.pairs(self.entities(encoded, batch), batch)
