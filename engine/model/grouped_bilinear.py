"""ATLOP's classifier, shared by ATLOP, NCRL and PEMSCL: z_s = tanh(W_s[h; c]), z_o = tanh(W_o[t; c]) and a
grouped bilinear layer giving R + 1 logits, class 0 the learned "no relation" threshold."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.model.backbone import PairRepresentation
from engine.model.int8_matmul import INPUT_SCALE, Int8Linear, int8_classifier_enabled


@dataclass
class BilinearOutput:
    logits: torch.Tensor  # (n_p, n_classes)
    # (n_p, emb_size * block_size) the grouped outer product where training materialises it; None at inference,
    # where it is never whole (see GroupedBilinear.chunked_logits). A loss that only needs its inner products
    # or norms reads them from the factors instead (outer_norms, pemscl.loss.GroupedOuter)
    pair_embedding: torch.Tensor | None


def outer_norms(z_head: torch.Tensor, z_tail: torch.Tensor, groups: int) -> torch.Tensor:
    """(n_p,) float32 |z_head (x) z_tail| of the grouped outer product (GroupedBilinear.outer) from its factors:
    |h (x) t|^2 = sum_k |h_k|^2 |t_k|^2, so a norm costs 2 * emb_size values, not emb_size * block_size."""
    n, block = z_head.shape[0], z_head.shape[1] // groups  # block given: a batch may hold no pair
    h, t = z_head.float().reshape(n, groups, block), z_tail.float().reshape(n, groups, block)
    return (h.square().sum(2) * t.square().sum(2)).sum(1).clamp(min=1e-24).sqrt()


class GroupedBilinear(nn.Module):
    """Bilinear over k = emb_size / block_size groups: far fewer parameters than a full bilinear."""

    def __init__(self, emb_size: int, block_size: int, num_classes: int) -> None:
        super().__init__()
        if emb_size % block_size:
            raise ValueError(f"emb_size {emb_size} must be a multiple of block_size {block_size}")
        self.emb_size, self.block_size = emb_size, block_size
        self.classifier = nn.Linear(emb_size * block_size, num_classes)
        self._int8: Int8Linear | None = None  # the classifier quantised on first int8 use (not saved)

    def outer(self, z_head: torch.Tensor, z_tail: torch.Tensor) -> torch.Tensor:
        groups = self.emb_size // self.block_size
        b1 = z_head.view(-1, groups, self.block_size, 1)  # (n_p, k, bs, 1)
        b2 = z_tail.view(-1, groups, 1, self.block_size)  # (n_p, k, 1, bs)
        # A batched matmul rather than a broadcast multiply: same values, but its backward is two matmuls
        # instead of a broadcast-and-reduce, about 2x faster on CPU, and forward in bf16 about 3x faster.
        return torch.matmul(b1, b2).reshape(-1, self.emb_size * self.block_size)  # (n_p, k * bs * bs)

    def chunked_logits(self, z_head: torch.Tensor, z_tail: torch.Tensor, chunk: int = 128) -> torch.Tensor:
        """Logits without the whole (n_p, k * bs * bs) outer product: chunks of pairs whose outer product
        stays in cache. At inference the full product (80 MB for 400 pairs) made the head memory-bound,
        as slow as the encoder. The outer product is a matmul here too: in bf16 a broadcast multiply took
        longer than the classifier's own matmul (PyTorch's bf16 elementwise kernels convert through fp32).
        Under int8_classifier() on CPU the classifier is an int8 matmul (int8_matmul.py): the outer product
        of tanh outputs lies in [-1, 1], and z_head is scaled once so each chunk comes out already scaled."""
        if z_head.shape[0] and int8_classifier_enabled() and z_head.device.type == "cpu":
            classify, z_head = self._int8_classifier().from_scaled, z_head * INPUT_SCALE
        else:
            weight, bias = self.classifier.weight, self.classifier.bias
            device = z_head.device.type
            if torch.is_autocast_enabled(device):  # cast the 4.8M-value weight once, not once per chunk
                dtype = torch.get_autocast_dtype(device)
                weight, bias = weight.to(dtype), bias.to(dtype)
            classify = functools.partial(F.linear, weight=weight, bias=bias)
        if z_head.shape[0] == 0:
            return classify(z_head.new_zeros(0, self.emb_size * self.block_size))
        # In plain fp32 the broadcast multiply is the faster outer product at inference (no backward to
        # serve): 6% of predict on an AVX2 EPYC, 40 held-out documents, medians of 5 paired rounds
        fp32 = z_head.dtype == torch.float32 and not torch.is_autocast_enabled(z_head.device.type)
        outer = self.broadcast_outer if fp32 else self.outer
        return torch.cat([classify(outer(z_head[start:start + chunk], z_tail[start:start + chunk]))
                          for start in range(0, z_head.shape[0], chunk)])

    def broadcast_outer(self, z_head: torch.Tensor, z_tail: torch.Tensor) -> torch.Tensor:
        """outer() as a broadcast multiply: the same values."""
        groups = self.emb_size // self.block_size
        product = z_head.view(-1, groups, self.block_size, 1) * z_tail.view(-1, groups, 1, self.block_size)
        return product.reshape(-1, self.emb_size * self.block_size)

    def _int8_classifier(self) -> Int8Linear:
        """The classifier quantised, made again whenever its weight has changed."""
        if self._int8 is None or not self._int8.is_current_for(self.classifier.weight):
            self._int8 = Int8Linear.from_linear(self.classifier.weight, self.classifier.bias)
        return self._int8

    def forward(self, z_head: torch.Tensor, z_tail: torch.Tensor, keep_pair: bool | None = None) -> BilinearOutput:
        """keep_pair: materialise the pair embedding (default: only when gradients are on)."""
        if not (torch.is_grad_enabled() if keep_pair is None else keep_pair):
            return BilinearOutput(logits=self.chunked_logits(z_head, z_tail), pair_embedding=None)
        pair = self.outer(z_head, z_tail)
        return BilinearOutput(logits=self.classifier(pair), pair_embedding=pair)


class PairExtractor(nn.Module):
    """z_s, z_o from entity embeddings and the localized context (ATLOP Eq. 7-8)."""

    def __init__(self, hidden_size: int, emb_size: int) -> None:
        super().__init__()
        self.head_extractor = nn.Linear(2 * hidden_size, emb_size)
        self.tail_extractor = nn.Linear(2 * hidden_size, emb_size)

    def forward(self, rep: PairRepresentation) -> tuple[torch.Tensor, torch.Tensor]:
        z_head = torch.tanh(self.head_extractor(torch.cat([rep.head, rep.context], dim=-1)))  # (n_p, emb)
        z_tail = torch.tanh(self.tail_extractor(torch.cat([rep.tail, rep.context], dim=-1)))  # (n_p, emb)
        return z_head, z_tail


class BilinearClassifier(nn.Module):
    """PairExtractor + GroupedBilinear: the full ATLOP classifier."""

    def __init__(self, hidden_size: int, emb_size: int, block_size: int, num_classes: int) -> None:
        super().__init__()
        self.extractor = PairExtractor(hidden_size, emb_size)
        self.bilinear = GroupedBilinear(emb_size, block_size, num_classes)

    def forward(self, rep: PairRepresentation, keep_pair: bool | None = None) -> BilinearOutput:
        return self.bilinear(*self.extractor(rep), keep_pair=keep_pair)
