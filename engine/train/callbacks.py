"""Training callbacks: a progress bar, dev evaluation that keeps the best checkpoint, and the
per-epoch state that makes `train` resumable."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Sequence

from tqdm.auto import tqdm

from engine.model.checkpoint import LoadedModel, save_checkpoint
from engine.data.documents import Document
from engine.data.metrics import evaluate
from engine.serve.predictor import Predictor
from engine.train.trainer import CallbackBase, StepInfo, Trainer
from engine.train.state import TrainState

log = logging.getLogger(__name__)
LAST_DIR = "last"


class ProgressBar(CallbackBase):
    """tqdm per epoch with the running loss and documents/s."""

    def __init__(self, epochs: int, disable: bool = False) -> None:
        self.epochs, self.disable, self.bar = epochs, disable, None

    def on_epoch_begin(self, state: TrainState, num_batches: int) -> None:
        self.bar = tqdm(total=num_batches, desc=f"epoch {state.epoch + 1}/{self.epochs}", disable=self.disable, dynamic_ncols=True)
        self.loss_sum, self.count = 0.0, 0

    def on_step_end(self, state: TrainState, info: StepInfo) -> None:
        self.loss_sum, self.count = self.loss_sum + info.loss, self.count + 1
        self.bar.set_postfix(loss=f"{self.loss_sum / self.count:.4f}", docs_s=f"{info.docs_per_second:.2f}")
        self.bar.update(1)

    def on_epoch_end(self, state: TrainState, trainer: Trainer) -> None:
        state.history[-1]["train_loss"] = self.loss_sum / max(self.count, 1)
        self.bar.close()


def dev_scores(loaded: LoadedModel, device: str, dev: Sequence[Document], train: Sequence[Document] | None) -> dict:
    """F1 and friends of the model as it is now, on dev documents with labels."""
    predictor = Predictor(loaded, device)
    scores = predictor.predict(dev)
    predicted = [[(h, t, r) for h, t, r, _ in s.predicted_triples()] for s in scores]
    report = evaluate(dev, predicted, train)
    o = report.overall
    return {"f1": o.f1, "ign_f1": report.ign_f1, "precision": o.precision, "recall": o.recall}


class EvaluateAndCheckpoint(CallbackBase):
    """After each epoch: evaluate on dev (if given), save the best as the checkpoint in `output`, and save
    model + optimiser state to `output/last` for resuming."""

    def __init__(self, output: Path, loaded: LoadedModel, dev: Sequence[Document] | None, train: Sequence[Document],
                 data_hash: str, train_config: dict, save_dtype: str) -> None:
        self.output, self.loaded, self.dev, self.train = output, loaded, dev, train
        self.data_hash, self.train_config, self.save_dtype = data_hash, train_config, save_dtype

    def on_epoch_end(self, state: TrainState, trainer: Trainer) -> None:
        if not trainer.is_main_process:
            return
        metrics = dev_scores(self.loaded, trainer.device, self.dev, self.train) if self.dev else {}
        state.history[-1].update({f"dev_{k}": v for k, v in metrics.items()})
        score = metrics.get("f1", float(state.epoch))  # without dev, the latest epoch is the best
        extra = {"epoch": state.epoch, "history": state.history}
        if score > state.best_score:
            state.best_score, state.best_epoch = score, state.epoch
            save_checkpoint(self.loaded, self.output, metrics={"dev": metrics, "epoch": state.epoch}, data_hash=self.data_hash,
                            train_config=self.train_config, save_dtype=self.save_dtype, extra=extra)
        if metrics:
            log.info("epoch %d: %s (best F1 %.4f at epoch %d)", state.epoch,
                     {k: round(v, 4) for k, v in metrics.items() if v is not None}, state.best_score, state.best_epoch)
        last = self.output / LAST_DIR
        save_checkpoint(self.loaded, last, metrics={"dev": metrics, "epoch": state.epoch}, data_hash=self.data_hash,
                        train_config=self.train_config, extra=extra)
        trainer.save_state(last)

    def on_train_end(self, state: TrainState) -> None:
        """Training finished: the resume state is no longer needed."""
        if (self.output / LAST_DIR).is_dir() and state.epoch >= self.train_config["epochs"]:
            shutil.rmtree(self.output / LAST_DIR)
