"""Modules built for their shapes: on the meta device, uninitialised, and without importing torch._dynamo
(which a meta normal_ would, about 1 s of a cold start), nor sympy (which to_empty would)."""
from __future__ import annotations

import subprocess
import sys

CODE = """
import sys, torch
from engine.model.meta_build import shapes_only
with shapes_only():
    modules = [torch.nn.Embedding(50, 8, padding_idx=0), torch.nn.Linear(8, 4), torch.nn.LayerNorm(4)]
assert all(p.is_meta for m in modules for p in m.parameters())
from engine.model.meta_build import allocate_uninitialised
allocate_uninitialised(modules[1])
assert modules[1].weight.device.type == "cpu" and modules[1].weight.shape == (4, 8) and modules[1].weight.requires_grad
real = torch.nn.Linear(3, 2)  # outside the block: initialised as usual, on the CPU
assert not real.weight.is_meta and real.weight.abs().sum() > 0
print("torch._dynamo" in sys.modules or "sympy" in sys.modules)
"""


def test_shapes_only_builds_on_meta_without_initialising_or_importing_dynamo():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
