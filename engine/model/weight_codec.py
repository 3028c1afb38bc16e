"""How weights are stored in model.safetensors: float32, float16, bfloat16, or int8.

int8 keeps every large matrix (>= 65,536 values) as int8 with one fp16 scale per group of 128 values of a
row (symmetric, round to nearest), and everything else in fp16. It halves a shipped model against fp16
for a held-out F1 change measured in bench/RESULTS.md; weights are dequantised to float on load, so
inference is unchanged otherwise."""
from __future__ import annotations

import torch

from engine.config import SAVE_DTYPES

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
SCALE_SUFFIX = ".int8_scale"
GROUP = 128
MIN_QUANTISED = 65_536


def _quantisable(tensor: torch.Tensor) -> bool:
    return tensor.is_floating_point() and tensor.dim() == 2 and tensor.numel() >= MIN_QUANTISED


def quantise_int8(weight: torch.Tensor, group: int | None = GROUP) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 values (rows, cols), fp16 scales (rows, groups)); groups of `group` columns, or whole rows when
    group is None or the width is not a multiple of it (int8_matmul.py's one scale per output row)."""
    rows, cols = weight.shape
    group = group if group is not None and cols % group == 0 else cols
    grouped = weight.detach().float().reshape(rows, cols // group, group)
    scale = (grouped.abs().amax(-1, keepdim=True) / 127.0).clamp(min=1e-12)
    scale = scale.half().float()  # the values are rounded against the scale that is stored
    values = torch.round(grouped / scale).clamp(-127, 127).to(torch.int8)
    return values.reshape(rows, cols), scale.squeeze(-1).half()


def dequantise_int8(values: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    rows, cols = values.shape
    groups = scale.shape[1]
    return (values.float().reshape(rows, groups, cols // groups) * scale.float()[..., None]).reshape(rows, cols)


def encode_state(state: dict[str, torch.Tensor], save_dtype: str) -> dict[str, torch.Tensor]:
    """Tensors ready for safetensors in the chosen storage dtype (integer tensors unchanged)."""
    if save_dtype not in SAVE_DTYPES:
        raise ValueError(f"unknown save dtype {save_dtype!r}: expected one of {', '.join(SAVE_DTYPES)}")
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        value = value.detach().cpu()
        if save_dtype == "int8" and _quantisable(value):
            out[key], out[key + SCALE_SUFFIX] = quantise_int8(value)
        elif value.is_floating_point():
            out[key] = value.to(torch.float16 if save_dtype == "int8" else DTYPES[save_dtype])
        else:
            out[key] = value
        out[key] = out[key].contiguous()
    return out


def decode_state(stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The model's state dict back from stored tensors: int8 matrices dequantised with their scales."""
    out: dict[str, torch.Tensor] = {}
    for key, value in stored.items():
        if key.endswith(SCALE_SUFFIX):
            continue
        scale = stored.get(key + SCALE_SUFFIX)
        out[key] = dequantise_int8(value, scale) if scale is not None else value
    return out
