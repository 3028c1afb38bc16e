"""Modules built for their shapes only, on the meta device and without random initialisation: the checkpoint
checks compare a head's shapes with a file's header, and the lean encoder assigns its weights straight from
the file. Skipping initialisation matters beyond the saved work: normal_ on meta tensors runs through torch's
Python decompositions, whose first use imports torch._dynamo, about 1 s of a cold predict."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

INIT_FUNCTIONS = frozenset({torch.nn.init.normal_, torch.nn.init.trunc_normal_, torch.nn.init.uniform_,
                            torch.nn.init.xavier_normal_, torch.nn.init.xavier_uniform_, torch.nn.init.kaiming_normal_,
                            torch.nn.init.kaiming_uniform_, torch.nn.init.orthogonal_, torch.nn.init.zeros_,
                            torch.nn.init.ones_, torch.Tensor.normal_, torch.Tensor.uniform_})


class _SkipInitOnMeta(TorchFunctionMode):
    """Initialisers called on a meta tensor return it untouched; everything else runs as usual."""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if func in INIT_FUNCTIONS:
            target = args[0] if args else kwargs.get("tensor", kwargs.get("self"))
            if isinstance(target, torch.Tensor) and target.is_meta:
                return target
        return func(*args, **kwargs)


@contextlib.contextmanager
def shapes_only() -> Iterator[None]:
    """Within this block, modules are created on the meta device, uninitialised (no memory, no random draws)."""
    with torch.device("meta"), _SkipInitOnMeta():
        yield


def allocate_uninitialised(module: torch.nn.Module, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Module.to_empty without its detour: every meta parameter and buffer becomes uninitialised memory on
    `device`, for weights loaded next to fill. (to_empty runs empty_like through torch's Python references,
    which import sympy.)"""
    for sub in module.modules():
        for name, param in list(sub._parameters.items()):
            if param is not None and param.is_meta:
                sub._parameters[name] = torch.nn.Parameter(torch.empty(param.shape, dtype=param.dtype, device=device),
                                                           requires_grad=param.requires_grad)
        for name, buffer in list(sub._buffers.items()):
            if buffer is not None and buffer.is_meta:
                sub._buffers[name] = torch.empty(buffer.shape, dtype=buffer.dtype, device=device)
    return module
