"""int8 inference for the grouped bilinear classifier, the one matmul as large as the encoder's: its input
is a (n_pairs, 49,152) outer product of tanh outputs, its weight (97, 49,152). x86 CPUs with AVX512-VNNI
multiply int8 at twice the rate of bf16, so on those the classifier runs as an int8 x int8 -> int32 matmul.

Quantisation: weights per output row (symmetric, scale = max |w| / 127); inputs with the fixed scale 127,
exact for values in [-1, 1], which an outer product of tanh outputs always is (no pass to find a range).
The input is truncated toward zero rather than rounded: one pass fewer over the largest tensor of the
head, and on the held-out set no measurable difference (paee F1 56.07 truncated, 56.06 rounded, 56.09
bf16). The switch is scoped like autocast: `int8_classifier()` turns it on for the calling thread."""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Iterator

import torch

from engine.model.weight_codec import quantise_int8

INPUT_SCALE = 127.0  # inputs lie in [-1, 1]
_state = threading.local()


@contextlib.contextmanager
def int8_classifier(enabled: bool = True) -> Iterator[None]:
    """Within this block (and this thread), GroupedBilinear computes its inference logits in int8."""
    previous = getattr(_state, "enabled", False)
    _state.enabled = enabled
    try:
        yield
    finally:
        _state.enabled = previous


def int8_classifier_enabled() -> bool:
    return getattr(_state, "enabled", False)


@dataclass(frozen=True)
class Int8Linear:
    """A linear layer's weight as int8 (transposed for torch._int_mm), its per-row scales and fp32 bias."""

    weight_t: torch.Tensor  # (in, out) int8
    scale: torch.Tensor  # (out,) float32: weight row scale / INPUT_SCALE
    bias: torch.Tensor | None  # (out,) float32
    source_version: tuple[int, int]  # (data_ptr, _version) of the weight it was made from

    @staticmethod
    def version_of(weight: torch.Tensor) -> tuple[int, int]:
        return weight.data_ptr(), weight._version

    @classmethod
    def from_linear(cls, weight: torch.Tensor, bias: torch.Tensor | None) -> "Int8Linear":
        values, row_scale = quantise_int8(weight, group=None)  # (out, in) int8, (out, 1) fp16
        return cls(weight_t=values.t().contiguous(), scale=row_scale.float().squeeze(1) / INPUT_SCALE,
                   bias=None if bias is None else bias.detach().float(), source_version=cls.version_of(weight))

    def is_current_for(self, weight: torch.Tensor) -> bool:
        """False once the weight was replaced or changed in place (an optimizer step, a checkpoint load)."""
        return self.source_version == self.version_of(weight)

    def from_scaled(self, scaled_input: torch.Tensor) -> torch.Tensor:
        """Float32 logits of an input already multiplied by INPUT_SCALE, (n, in) -> (n, out), n > 0."""
        out = torch._int_mm(scaled_input.to(torch.int8), self.weight_t).float() * self.scale
        return out if self.bias is None else out + self.bias
