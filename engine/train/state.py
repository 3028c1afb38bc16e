"""Where a training run stands (`TrainState`, owned by the trainer, saved with `last/` for resuming) and what
callbacks may ask of the trainer (`TrainerControl`), in the style of transformers' TrainerState/TrainerControl.
Optimiser tensors go to safetensors and the rest to JSON: never pickles."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from engine.file_modes import like_open

OPTIMIZER_FILE, STATE_FILE = "optimizer.safetensors", "trainer_state.json"


@dataclass
class TrainState:
    """epoch/step: finished epochs and optimiser steps; history: one dict of figures per finished epoch
    (train_loss, docs_per_second, dev_* metrics). The rest describes the batch in flight, for display."""

    epoch: int = 0
    step: int = 0
    best_score: float = float("-inf")
    best_epoch: int = -1
    history: list[dict] = field(default_factory=list)
    batch: int = 0  # batches finished in the current epoch
    num_batches: int = 0  # batches in the current epoch
    loss: float = 0.0  # the last batch's loss
    epoch_loss: float = 0.0  # mean loss of the current epoch so far
    docs_per_second: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "TrainState":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class TrainerControl:
    """Flags callbacks set to steer the loop; the trainer acts on them and resets them after acting."""

    should_evaluate: bool = False
    should_save: bool = False
    should_stop: bool = False


def save_training_state(directory: Path, state: TrainState, optimizer: torch.optim.Optimizer,
                        scheduler: torch.optim.lr_scheduler.LRScheduler, extra: dict | None = None) -> None:
    """Optimiser and scheduler next to a checkpoint; `extra` (data hash, settings) travels in the JSON."""
    directory.mkdir(parents=True, exist_ok=True)
    sd = optimizer.state_dict()
    tensors = {f"{pid}.{name}": value.detach().cpu().contiguous()
               for pid, slots in sd["state"].items() for name, value in slots.items()}
    save_file(tensors, str(directory / OPTIMIZER_FILE), metadata={"param_groups": json.dumps(sd["param_groups"])})
    like_open(directory / OPTIMIZER_FILE)  # safetensors writes 0o600; the run's other files get open()'s mode
    sched = {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"}
    (directory / STATE_FILE).write_text(json.dumps({"state": state.to_json(), "scheduler": sched, **(extra or {})}),
                                        encoding="utf-8")


def read_training_extra(directory: Path) -> dict:
    """The JSON beside the optimiser state (without loading any tensor)."""
    return json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))


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
    saved = read_training_extra(directory)
    scheduler.load_state_dict({**saved["scheduler"], "lr_lambdas": [None] * len(optimizer.param_groups)})
    return TrainState.from_json(saved["state"])
