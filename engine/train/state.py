"""Resumable training state without pickles: optimiser tensors in safetensors, the rest in JSON."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

OPTIMIZER_FILE, STATE_FILE = "optimizer.safetensors", "trainer_state.json"


@dataclass
class TrainState:
    """Where training stands; `history` holds one dict of figures per finished epoch."""

    epoch: int = 0  # epochs finished
    step: int = 0  # optimiser steps taken
    best_score: float = float("-inf")
    best_epoch: int = -1
    history: list[dict] = field(default_factory=list)


def save_training_state(directory: Path, state: TrainState, optimizer: torch.optim.Optimizer,
                        scheduler: torch.optim.lr_scheduler.LRScheduler) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    sd = optimizer.state_dict()
    tensors = {f"{pid}.{name}": value.detach().cpu().contiguous()
               for pid, slots in sd["state"].items() for name, value in slots.items()}
    save_file(tensors, str(directory / OPTIMIZER_FILE), metadata={"param_groups": json.dumps(sd["param_groups"])})
    sched = {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"}
    (directory / STATE_FILE).write_text(json.dumps({"state": asdict(state), "scheduler": sched}), encoding="utf-8")


def load_training_state(directory: Path, optimizer: torch.optim.Optimizer,
                        scheduler: torch.optim.lr_scheduler.LRScheduler) -> TrainState:
    from safetensors import safe_open  # noqa: PLC0415

    with safe_open(str(directory / OPTIMIZER_FILE), "pt") as f:
        groups = json.loads(f.metadata()["param_groups"])
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in load_file(str(directory / OPTIMIZER_FILE)).items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    saved = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    scheduler.load_state_dict({**saved["scheduler"], "lr_lambdas": [None] * len(optimizer.param_groups)})
    return TrainState(**saved["state"])
