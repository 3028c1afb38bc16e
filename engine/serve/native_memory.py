"""Keep a long CPU scoring run's memory flat in the number of documents scored.

Measured on the shipped model (bench/corpus_memory.py, bench/RESULTS.md): without this, resident memory grew
by about 150 MB per 1,000 documents and doubled from 1,000 to 10,000 documents although nothing of the
documents is kept. Two native causes: the oneDNN kernels that bf16 and int8 matmuls build per input shape
are cached (up to 1,024 each, and every batch has new lengths), and glibc keeps the freed pages of each
window's tensors in its heap. Capping the caches and trimming the heap after each window keeps it flat."""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

KERNEL_CACHE_CAPACITY = "16"  # per cache; the kernels of one window's shapes, not of every shape ever seen


def bound_kernel_caches() -> None:
    """Cap PyTorch's ideep and oneDNN kernel caches, unless the environment sets them; call before the first
    matmul runs (both read their capacity once, on first use)."""
    os.environ.setdefault("LRU_CACHE_CAPACITY", KERNEL_CACHE_CAPACITY)
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", KERNEL_CACHE_CAPACITY)


@functools.cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    return None if name is None else getattr(ctypes.CDLL(name), "malloc_trim", None)


def release_freed_memory() -> None:
    """Give the heap's free pages back to the system (glibc's malloc_trim; nothing elsewhere)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


__all__ = ["KERNEL_CACHE_CAPACITY", "bound_kernel_caches", "release_freed_memory"]
