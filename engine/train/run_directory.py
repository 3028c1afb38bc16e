"""A training run's output directory: the best checkpoint in OUTPUT/ and the resume state in OUTPUT/last/.

Every save is crash-safe. `last/` is written whole into `last.partial/` and swapped in by renames, so a kill
at any moment leaves either the previous complete `last/` or a message that says how to restart; the best
checkpoint's files are each written to a temporary name and renamed (weights first, config last, tied by a
checkpoint id that loading checks). Resuming with other data or other settings is refused unless forced."""
from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.config import TrainConfig
from engine.errors import CheckpointError
from engine.model.checkpoint import CONFIG_FILE, WEIGHTS_FILE, LoadedModel, read_checkpoint_config, save_checkpoint
from engine.train.state import OPTIMIZER_FILE, STATE_FILE, TrainState, read_training_extra, save_training_state

log = logging.getLogger(__name__)
LAST_DIR = "last"
PARTIAL_SUFFIX, PREVIOUS_SUFFIX = ".partial", ".previous"
# settings that may change between an interrupted run and its resumption without changing what it computes
# autocast and kernel choice change the arithmetic, not the run
RESUMABLE_CHANGES = frozenset({"epochs", "precision", "deterministic"})


@dataclass
class RunDirectory:
    """Where one training run writes; `data_hash` and `train_config` identify the run for resuming."""

    output: Path
    data_hash: str
    train_config: dict
    save_dtype: str = "float32"

    @property
    def last(self) -> Path:
        return self.output / LAST_DIR

    def save_best(self, loaded: LoadedModel, state: TrainState, metrics: dict) -> None:
        """The best epoch so far as the run's checkpoint (OUTPUT/config.json + model.safetensors)."""
        staging = self.output / (".best" + PARTIAL_SUFFIX)
        shutil.rmtree(staging, ignore_errors=True)
        save_checkpoint(loaded, staging, metrics={"dev": metrics, "epoch": state.epoch}, data_hash=self.data_hash,
                        train_config=self.train_config, save_dtype=self.save_dtype,
                        extra={"epoch": state.epoch, "history": state.history})
        for name in (WEIGHTS_FILE, CONFIG_FILE):  # each rename is atomic; the checkpoint id ties the two
            (staging / name).replace(self.output / name)
        staging.rmdir()

    def save_last(self, loaded: LoadedModel, state: TrainState, metrics: dict, optimizer: torch.optim.Optimizer,
                  scheduler: torch.optim.lr_scheduler.LRScheduler) -> None:
        """Model, optimiser and state for resuming, swapped in whole."""
        partial = self.output / (LAST_DIR + PARTIAL_SUFFIX)
        previous = self.output / (LAST_DIR + PREVIOUS_SUFFIX)
        shutil.rmtree(partial, ignore_errors=True)
        save_checkpoint(loaded, partial, metrics={"dev": metrics, "epoch": state.epoch}, data_hash=self.data_hash,
                        train_config=self.train_config, extra={"epoch": state.epoch, "history": state.history})
        checkpoint_id = json.loads((partial / CONFIG_FILE).read_text(encoding="utf-8")).get("checkpoint_id")
        # the state file is written last: its presence marks the directory complete
        save_training_state(partial, state, optimizer, scheduler,
                            extra={"data_hash": self.data_hash, "train_config": self.train_config,
                                   "checkpoint_id": checkpoint_id})
        if self.last.exists():
            shutil.rmtree(previous, ignore_errors=True)
            self.last.rename(previous)
        partial.rename(self.last)
        shutil.rmtree(previous, ignore_errors=True)

    def finish(self) -> None:
        """The run completed: the resume state is no longer needed."""
        for path in (self.last, self.output / (LAST_DIR + PARTIAL_SUFFIX), self.output / (LAST_DIR + PREVIOUS_SUFFIX)):
            shutil.rmtree(path, ignore_errors=True)

    def resumable(self, *, force: bool = False) -> Path | None:
        """OUTPUT/last when a complete resume state for this run is there, None when there is none; raises
        CheckpointError for a partly written state or one from other data or settings (unless `force`)."""
        previous = self.output / (LAST_DIR + PREVIOUS_SUFFIX)
        if not self.last.exists():
            if previous.is_dir():
                raise CheckpointError(
                    f"{self.last} is missing but {previous} holds the state before the last save (the run was stopped "
                    f"while saving): rename {previous.name} to {LAST_DIR} to resume from it, "
                    "or pass --no-resume to start afresh")
            return None
        restart = f"delete {self.last} or pass --no-resume to start afresh"
        missing = [n for n in (CONFIG_FILE, WEIGHTS_FILE, OPTIMIZER_FILE, STATE_FILE) if not (self.last / n).is_file()]
        if missing:
            raise CheckpointError(f"{self.last} is incomplete (no {', '.join(missing)}): it was not written by a "
                                  f"finished save; {restart}")
        try:
            extra = read_training_extra(self.last)
            config = read_checkpoint_config(self.last)
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{self.last} is unreadable ({exc}); {restart}") from exc
        if extra.get("checkpoint_id") != config.get("checkpoint_id"):
            raise CheckpointError(f"{self.last}: the training state and the weights come from different saves; "
                                  f"{restart}")
        if force:
            return self.last
        if extra.get("data_hash") != self.data_hash:
            raise CheckpointError(f"{self.last} was trained on other data (hash {extra.get('data_hash')}, now "
                                  f"{self.data_hash}); pass --force-resume to continue anyway, "
                                  "or --no-resume to start afresh")
        saved = TrainConfig.with_new_names(extra.get("train_config") or {})  # a run saved before a key's rename
        changed = sorted(k for k in set(saved) | set(self.train_config)
                         if k not in RESUMABLE_CHANGES and saved.get(k) != self.train_config.get(k))
        if changed:
            detail = ", ".join(f"{k}: {saved.get(k)!r} -> {self.train_config.get(k)!r}" for k in changed)
            raise CheckpointError(f"{self.last} was trained with other settings ({detail}); pass --force-resume to "
                                  "continue anyway, or --no-resume to start afresh")
        return self.last
