"""Inference precision. bf16 autocast roughly halves the cost of the encoder's and the bilinear's matmuls
where the hardware computes bf16 natively (CUDA; x86 CPUs with AVX512-BF16 or AMX). Elsewhere CPU bf16
is emulated and slower than fp32, so `auto` keeps fp32 there. `int8` is bf16 plus the bilinear classifier
in int8 (int8_matmul.py), CPU only: `auto` picks it where the CPU also has AVX512-VNNI or AMX-INT8.
Training uses the same rule without int8 (`resolve_training_precision`): bf16 autocast over fp32 weights and
optimiser state, so only the forward and backward matmuls run in bf16."""
from __future__ import annotations

import contextlib
import functools
import re
from pathlib import Path
from typing import Iterator

import torch

from engine.errors import DocreError
from engine.model.int8_matmul import int8_classifier
from engine.settings import PRECISIONS, get_settings


@functools.cache
def _cpu_flags() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def cpu_flag_names() -> frozenset[str]:
    """The CPU's feature flags as /proc/cpuinfo lists them (empty where there is none)."""
    return frozenset(re.findall(r"[a-z0-9_]+", _flags_line()))


def _flags_line() -> str:
    match = re.search(r"^flags\s*:(.*)$", _cpu_flags(), re.MULTILINE)
    return match.group(1) if match else ""


def cpu_has_native_bf16() -> bool:
    """True when /proc/cpuinfo lists AVX512-BF16 or AMX-BF16 (Linux x86; other systems: False)."""
    return not cpu_flag_names().isdisjoint({"avx512_bf16", "amx_bf16"})


def cpu_has_fast_int8() -> bool:
    """True when /proc/cpuinfo lists AVX512-VNNI or AMX-INT8: int8 matmuls at twice the bf16 rate."""
    return not cpu_flag_names().isdisjoint({"avx512_vnni", "amx_int8"})


def resolve_precision(requested: str | None, device: torch.device) -> str:
    """float32, bfloat16 or int8: an explicit request, then DOCRE_PRECISION, then `auto` (the fastest the
    hardware runs natively)."""
    choice = (requested or get_settings().precision or "auto").strip().lower()
    if choice not in PRECISIONS:
        raise DocreError(f"unknown precision {choice!r}: expected one of {', '.join(PRECISIONS)}")
    if choice == "int8" and device.type != "cpu":
        raise DocreError(f"precision int8 is for CPU inference; on {device.type} use bfloat16 (or auto)")
    if choice != "auto":
        return choice
    if device.type == "cuda":
        return "bfloat16"
    if device.type == "cpu" and cpu_has_native_bf16():
        return "int8" if cpu_has_fast_int8() else "bfloat16"
    return "float32"


def resolve_training_precision(requested: str, device: torch.device) -> str:
    """float32 or bfloat16 for a training run: `auto` is bf16 on CUDA and on CPUs that compute bf16 natively
    (there it roughly halves the encoder's step time), fp32 elsewhere, where CPU bf16 is emulated and slower."""
    if requested != "auto":
        return requested
    if device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16()):
        return "bfloat16"
    return "float32"


def training_autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast of a resolved training precision (no context for float32)."""
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


@contextlib.contextmanager
def inference_autocast(device: torch.device, precision: str) -> Iterator[None]:
    """The autocast (and int8 classifier) context for a resolved precision (nothing for float32)."""
    if precision == "float32":
        yield
        return
    with torch.autocast(device.type, dtype=torch.bfloat16), int8_classifier(precision == "int8"):
        yield
