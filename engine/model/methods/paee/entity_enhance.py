"""PAEE's Entity-Enhanced Representation (Huang et al., 2022, Sec. 2.3): a Transformer over a document's
entities and sentences (the Representation-Enhanced Encoder, Eq. 6), and Cross Matching, which splits each
entity into subject and object features per relation (Eq. 7)."""
from __future__ import annotations

import math

import torch
from torch import nn

from engine.model.features import Batch
from engine.model.methods.paee.pair_matrix import entity_offsets


def sentence_embeddings(states: torch.Tensor, batch: Batch) -> torch.Tensor:
    """S_i: max-pool of the token states over [sent_start, sent_end). states: (n_docs, L, d) -> (n_sents, d).
    Only the sentences' tokens are gathered (not a (n_sents, L, d) masked copy)."""
    pos = torch.arange(states.shape[1], device=states.device)
    inside = (pos[None, :] >= batch.sent_start[:, None]) & (pos[None, :] < batch.sent_end[:, None])  # (n_sents, L)
    sent, tok = inside.nonzero(as_tuple=True)  # (n_tok,) each
    values = states[batch.sent_doc[sent], tok]  # (n_tok, d)
    index = sent[:, None].expand(-1, states.shape[-1])  # (n_tok, d)
    out = states.new_zeros(batch.sent_start.shape[0], states.shape[-1])
    return out.scatter_reduce(0, index, values, reduce="amax", include_self=False)  # (n_sents, d)


def sinusoidal_positions(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Vaswani et al.'s fixed position encoding: (n,) -> (n, dim). Fixed, so any number of sentences works."""
    half = dim // 2
    steps = torch.arange(half, device=positions.device, dtype=torch.float32)
    freq = torch.exp(-math.log(10000.0) * steps / max(half, 1))
    angle = positions.float()[:, None] * freq[None, :]  # (n, half)
    enc = torch.cat([angle.sin(), angle.cos()], dim=-1)  # (n, 2 * half)
    return nn.functional.pad(enc, (0, dim - 2 * half))  # (n, dim)


class RepresentationEnhancedEncoder(nn.Module):
    """Eq. 6: [H^e; H^s] = Transformer(e_1..e_Ne; S_1..S_Ns) per document, sentences carrying their position.
    A learned kind embedding tells entity slots from sentence slots. Returns H^e: (n_e, d)."""

    def __init__(self, hidden_size: int, num_heads: int, ff_dim: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        self.kind = nn.Embedding(2, hidden_size)  # 0 entity, 1 sentence
        layer = nn.TransformerEncoderLayer(hidden_size, num_heads, ff_dim, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)

    def forward(self, entity: torch.Tensor, sentences: torch.Tensor, batch: Batch) -> torch.Tensor:
        """entity: (n_e, d), sentences: (n_sents, d) -> (n_e, d) document-aware entities."""
        first, counts = entity_offsets(batch)
        ent_local = torch.arange(entity.shape[0], device=entity.device) - first[batch.entity_doc]  # (n_e,)
        sent_off = batch.doc_sent_offsets
        sent_local = torch.arange(sentences.shape[0], device=entity.device) - sent_off[batch.sent_doc]  # (n_sents,)
        n_ent = max(int(counts.max()) if counts.numel() else 0, 1)
        n_sent = max(int((sent_off[1:] - sent_off[:-1]).max()) if sent_off.numel() > 1 else 0, 1)
        d = entity.shape[-1]
        kinds = self.kind.weight.to(entity.dtype)
        seq = entity.new_zeros(batch.num_docs, n_ent + n_sent, d)  # entities at 0.., sentences at n_ent..
        seq[batch.entity_doc, ent_local] = entity + kinds[0]
        seq[batch.sent_doc, n_ent + sent_local] = (sentences + kinds[1]
                                                   + sinusoidal_positions(sent_local, d).to(sentences.dtype))
        pad = torch.ones(batch.num_docs, n_ent + n_sent, dtype=torch.bool, device=entity.device)
        pad[batch.entity_doc, ent_local] = False
        pad[batch.sent_doc, n_ent + sent_local] = False
        out = self.encoder(seq, src_key_padding_mask=pad)  # (n_docs, n_ent + n_sent, d)
        return out[batch.entity_doc, ent_local]  # (n_e, d)


class CrossMatching(nn.Module):
    """Eq. 7: [F_sub; F_obj] = Sub-Obj(H^e), logits of each entity being subject / object of each relation.
    The paper's Sub-Obj layer is one linear over the flattened N_e x D matrix, which ties it to a fixed N_e;
    here it is shared by every entity (D -> 2 N_c), so documents of any size fit."""

    def __init__(self, hidden_size: int, num_relations: int) -> None:
        super().__init__()
        self.num_relations = num_relations
        self.sub_obj = nn.Linear(hidden_size, 2 * num_relations)

    def forward(self, entity: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n_e, d) -> F_sub, F_obj logits, each (n_e, R)."""
        sub, obj = self.sub_obj(entity).split(self.num_relations, dim=-1)  # (n_e, R) each
        return sub, obj
