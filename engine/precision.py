"""Inference precision. bf16 autocast roughly halves the cost of the encoder's and the bilinear's matmuls
where the hardware computes bf16 natively (CUDA; x86 CPUs with AVX512-BF16 or AMX). Elsewhere CPU bf16
is emulated and slower than fp32, so `auto` keeps fp32 there. Training is unaffected (fp32 on CPU)."""
from __future__ import annotations

import contextlib
import functools
import re
from pathlib import Path
from typing import ContextManager

import torch

from .errors import DocreError
from .settings import get_settings

PRECISIONS = ("auto", "float32", "bfloat16")


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True when /proc/cpuinfo lists AVX512-BF16 or AMX-BF16 (Linux x86; other systems: False)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", flags) is not None


def resolve_precision(requested: str | None, device: torch.device) -> str:
    """float32 or bfloat16: an explicit request, then DOCRE_PRECISION, then `auto` (bf16 where native)."""
    choice = (requested or get_settings().precision or "auto").strip().lower()
    if choice not in PRECISIONS:
        raise DocreError(f"unknown precision {choice!r}: expected one of {', '.join(PRECISIONS)}")
    if choice != "auto":
        return choice
    native = device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16())
    return "bfloat16" if native else "float32"


def inference_autocast(device: torch.device, precision: str) -> ContextManager:
    """The autocast context for a resolved precision (a no-op for float32)."""
    if precision == "bfloat16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
