"""PAEE's Pair-Aware Representation (Huang et al., 2022, Sec. 2.1-2.2): entity-pair features V(e_s, e_o)
(Eq. 3), the potential-pair classifier (Eq. 5) and the N x N x D entity-pair matrix with sliding-window
filling and a multi-scale module over it (Eq. 4).

Multi-scale module: the paper uses TNet (Papadopoulos et al., 2021); no code for it is public, so a small
U-Net over the matrix as in DocuNet (Zhang et al., 2021), which PAEE builds on, stands in for it.

Matrix size: N adapts to the batch (its largest document) instead of the paper's fixed 42, so no document
is cut. Each document d fills only its own region M_d x M_d, M_d = its entity count n_d rounded up to the
U-Net's stride 2^depth; outside it the matrix is zero and masked after every layer. Pooling windows never
straddle a region's edge (M_d is a multiple of the stride), so a document scores the same whichever
documents share its batch.

Sliding-window filling, as we read Sec. 2.2: the "window" is the document's n x n block of real pairs
(entities in order of first appearance); sliding it transversely, longitudinally and obliquely by n tiles
the block over the matrix, V'[i, j] = V[i mod n, j mod n]. Entity n - 1 then sits next to a copy of
entity 0, so pairs far apart in V meet within a few convolutions. After the U-Net each pair is read back
at its original position (i, j < n). The diagonal (h = t, not a pair) stays zero."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.model.backbone import PairRepresentation
from engine.model.features import Batch


def entity_offsets(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(n_docs,) first global entity index and (n_docs,) entity count of every document."""
    counts = torch.bincount(batch.entity_doc, minlength=batch.num_docs)  # (n_docs,)
    return torch.cumsum(counts, 0) - counts, counts


def local_pair_index(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(n_p,) head and (n_p,) tail index within their document."""
    first, _ = entity_offsets(batch)
    start = first[batch.pair_doc]  # (n_p,)
    return batch.pair_head - start, batch.pair_tail - start


def intra_sentence(batch: Batch) -> torch.Tensor:
    """(n_p,) bool: head and tail have mentions in a common sentence (Eq. 3's 0-1 `pos`)."""
    n_sent = int(batch.mention_sent.max()) + 1 if batch.mention_sent.numel() else 1
    sents = batch.mention_sent[batch.entity_mentions].masked_fill(~batch.entity_mention_mask, n_sent)  # (n_e, k)
    hot = torch.zeros(sents.shape[0], n_sent + 1, dtype=torch.bool, device=sents.device)
    hot = hot.scatter_(1, sents, True)[:, :n_sent]  # (n_e, n_sent) sentences each entity occurs in
    return (hot[batch.pair_head] & hot[batch.pair_tail]).any(1)  # (n_p,)


def scatter_pairs(values: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Pair rows (n_p, D) -> (n_docs, S, S, D) blocks, S the largest entity count; zeros off the pairs."""
    _, counts = entity_offsets(batch)
    size = max(int(counts.max()) if counts.numel() else 0, 1)
    h, t = local_pair_index(batch)
    block = values.new_zeros(batch.num_docs, size, size, values.shape[-1])
    block[batch.pair_doc, h, t] = values  # (n_docs, S, S, D)
    return block


def gather_pairs(matrix: torch.Tensor, batch: Batch) -> torch.Tensor:
    """(n_docs, N, N, D) -> (n_p, D): every pair read at its original position."""
    h, t = local_pair_index(batch)
    return matrix[batch.pair_doc, h, t]  # (n_p, D)


def sliding_window_fill(block: torch.Tensor, counts: torch.Tensor, size: int) -> torch.Tensor:
    """V'[d, i, j] = block[d, i mod n_d, j mod n_d] for i, j < size: the n_d x n_d window tiled across,
    down and diagonally. block: (n_docs, S, S, D), counts: (n_docs,) -> (n_docs, size, size, D)."""
    idx = torch.arange(size, device=block.device)
    src = idx[None, :] % counts.clamp(min=1)[:, None]  # (n_docs, size) source row/column
    docs = torch.arange(block.shape[0], device=block.device)[:, None, None]
    return block[docs, src[:, :, None], src[:, None, :]]  # (n_docs, size, size, D)


def zero_fill(block: torch.Tensor, size: int) -> torch.Tensor:
    """The paper's ablation 'w/o SW': the block padded with zeros to (n_docs, size, size, D)."""
    pad = size - block.shape[1]
    return F.pad(block, (0, 0, 0, pad, 0, pad)) if pad > 0 else block[:, :size, :size]


def region_sizes(counts: torch.Tensor, stride: int) -> torch.Tensor:
    """(n_docs,) M_d: the entity count rounded up to a multiple of the U-Net's stride (at least one stride)."""
    return (counts.clamp(min=1) + stride - 1) // stride * stride


class EntityPairFeatures(nn.Module):
    """Eq. 3: V(e_s, e_o) = W_1 H a_(s,o) plus intra/inter-sentence and subject/object type embeddings.
    H a_(s,o) is the backbone's localized context: the paper writes a softmax over sum_i A_i^s A_i^o, we use
    ATLOP's normalisation (its cited source); a softmax over products of attention probabilities (each
    about 1/L) would be nearly uniform."""

    def __init__(self, hidden_size: int, pair_dim: int, num_entity_types: int) -> None:
        super().__init__()
        self.context = nn.Linear(hidden_size, pair_dim)  # W_1
        self.position = nn.Embedding(2, pair_dim)
        self.sub_type = nn.Embedding(num_entity_types, pair_dim)
        self.obj_type = nn.Embedding(num_entity_types, pair_dim)

    def forward(self, rep: PairRepresentation, batch: Batch, intra: torch.Tensor) -> torch.Tensor:
        types = batch.entity_type
        return (self.context(rep.context) + self.position(intra.long())
                + self.sub_type(types[batch.pair_head]) + self.obj_type(types[batch.pair_tail]))  # (n_p, D)


class PotentialPairClassifier(nn.Module):
    """Eq. 5: kappa(P_pair; pos; sub_emb; obj_emb) -> logit of "this pair holds some relation".
    P_pair is the average of three views of the pair (head, tail, V(e_s, e_o)), each projected to D: our
    reading of the paper's "average pooling"; separate head and tail projections keep (s, o) != (o, s)."""

    def __init__(self, hidden_size: int, pair_dim: int, embed_dim: int, num_entity_types: int, mlp_hidden: int) -> None:
        super().__init__()
        self.head_view = nn.Linear(hidden_size, pair_dim)
        self.tail_view = nn.Linear(hidden_size, pair_dim)
        self.position = nn.Embedding(2, embed_dim)
        self.sub_type = nn.Embedding(num_entity_types, embed_dim)
        self.obj_type = nn.Embedding(num_entity_types, embed_dim)
        self.kappa = nn.Sequential(nn.Linear(pair_dim + 3 * embed_dim, mlp_hidden), nn.ReLU(), nn.Linear(mlp_hidden, 1))

    def forward(self, rep: PairRepresentation, pair_features: torch.Tensor, batch: Batch,
                intra: torch.Tensor) -> torch.Tensor:
        pooled = (self.head_view(rep.entity)[batch.pair_head] + self.tail_view(rep.entity)[batch.pair_tail]
                  + pair_features) / 3  # (n_p, D) P_pair
        types = batch.entity_type
        x = torch.cat([pooled, self.position(intra.long()), self.sub_type(types[batch.pair_head]),
                       self.obj_type(types[batch.pair_tail])], dim=-1)  # (n_p, D + 3 * embed)
        return self.kappa(x).squeeze(-1)  # (n_p,)


class ConvBlock(nn.Module):
    """Two 3x3 convolutions with ReLU, masked after each so no value leaks in from outside a document's
    region. No batch norm (DocuNet has it): its statistics would mix documents and padding."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x: (n_docs, C_in, n, n), mask: (n_docs, 1, n, n) -> (n_docs, C_out, n, n)."""
        x = torch.relu(self.conv1(x)) * mask
        return torch.relu(self.conv2(x)) * mask


class MatrixUNet(nn.Module):
    """A small masked U-Net over the pair matrix, as DocuNet's; it stands in for the paper's TNet.
    Level i has channels * 2^i channels; max-pool down, nearest upsampling and skip concatenation up."""

    def __init__(self, in_channels: int, channels: int, out_channels: int, depth: int) -> None:
        super().__init__()
        widths = [channels * 2 ** i for i in range(depth + 1)]
        self.depth = depth
        self.inc = ConvBlock(in_channels, widths[0])
        self.down = nn.ModuleList(ConvBlock(widths[i], widths[i + 1]) for i in range(depth))
        self.up = nn.ModuleList(ConvBlock(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(depth)))
        self.out = nn.Conv2d(widths[0], out_channels, 1)

    @property
    def stride(self) -> int:
        return 2 ** self.depth

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x: (n_docs, C_in, N, N), mask: (n_docs, 1, N, N), N a multiple of the stride -> (n_docs, C_out, N, N)."""
        mask = mask.to(x.dtype)
        masks = [mask]
        x = self.inc(x * mask, mask)
        skips = [x]
        for block in self.down:
            masks.append(F.max_pool2d(masks[-1], 2))  # (n_docs, 1, N / 2^i, N / 2^i)
            x = block(F.max_pool2d(x, 2), masks[-1])
            skips.append(x)
        for i, block in enumerate(self.up):
            level = self.depth - 1 - i
            x = F.interpolate(x, scale_factor=2, mode="nearest")  # (n_docs, C, N / 2^level, N / 2^level)
            x = block(torch.cat([x, skips[level]], dim=1), masks[level])
        return self.out(x) * mask  # (n_docs, C_out, N, N)


class PairMatrix(nn.Module):
    """Eq. 4: Y = UNet(W_2 Sliding(V)), read back per pair. W_2 is applied to the pairs before filling:
    filling only copies entries, so every real pair gets the same value, and empty cells stay zero."""

    def __init__(self, pair_dim: int, in_dim: int, channels: int, out_dim: int, depth: int,
                 sliding_window: bool = True) -> None:
        super().__init__()
        self.reduce = nn.Linear(pair_dim, in_dim)  # W_2
        self.unet = MatrixUNet(in_dim, channels, out_dim, depth)
        self.sliding_window = sliding_window

    def forward(self, pair_features: torch.Tensor, batch: Batch) -> torch.Tensor:
        """pair_features: (n_p, D) -> (n_p, out_dim)."""
        return self.from_reduced(self.reduce(pair_features), batch)

    def from_reduced(self, reduced: torch.Tensor, batch: Batch) -> torch.Tensor:
        """(n_p, D') pairs already through W_2 -> (n_p, out_dim). Inference reduces the pair features chunk by
        chunk (D' is much smaller than D) and fills the matrix once from them."""
        _, counts = entity_offsets(batch)
        sizes = region_sizes(counts, self.unet.stride)  # (n_docs,)
        size = int(sizes.max()) if sizes.numel() else self.unet.stride
        block = scatter_pairs(reduced, batch)  # (n_docs, S, S, D')
        filled = sliding_window_fill(block, counts, size) if self.sliding_window else zero_fill(block, size)
        idx = torch.arange(size, device=block.device)
        inside = idx[None, :] < sizes[:, None]  # (n_docs, N)
        mask = (inside[:, :, None] & inside[:, None, :])[:, None]  # (n_docs, 1, N, N)
        y = self.unet(filled.permute(0, 3, 1, 2), mask)  # (n_docs, out_dim, N, N)
        return gather_pairs(y.permute(0, 2, 3, 1), batch)  # (n_p, out_dim)
