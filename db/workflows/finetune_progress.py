"""A fine-tune job's progress on its row: the trainer's optimiser step and the epoch in progress, written
from the training loop as a callback (engine.train.callbacks), so the page polls true progress."""
from __future__ import annotations

import time

from sqlalchemy.orm import Session, sessionmaker

from engine.config import TrainConfig
from engine.train.callbacks import TrainerCallback
from engine.train.state import TrainerControl, TrainState

from .. import store
from ..store.domain import JobInfo
from ..store.session import session_scope

REPORT_SECONDS = 1.0  # at most one progress write per this many seconds between epoch ends


class JobProgress(TrainerCallback):
    """Writes the trainer's step and epoch onto the job's row (at most once a second, at each epoch's first step
    and at every saved epoch); a job taken from this worker raises JobLostError here, which stops the training."""

    def __init__(self, factory_: sessionmaker[Session], job: JobInfo, worker_id: str) -> None:
        self.factory, self.job, self.worker_id = factory_, job, worker_id
        self.last = float("-inf")
        self.epoch_shown = 0

    def _report(self, state: TrainState, epoch: int) -> None:
        self.last, self.epoch_shown = time.monotonic(), epoch
        with session_scope(self.factory) as s:
            store.report_progress(s, self.job.id, self.worker_id, done=state.step, details={
                "epoch": epoch, "batch": state.batch, "batches": state.num_batches,
                "loss": round(state.epoch_loss, 5)})

    def on_step_end(self, config: TrainConfig, state: TrainState, control: TrainerControl) -> None:
        epoch = state.epoch + 1  # state.epoch counts finished epochs
        # a new epoch is written at its first step whatever the throttle, so the row never shows the last one's
        if epoch != self.epoch_shown or time.monotonic() - self.last >= REPORT_SECONDS:
            self._report(state, epoch)

    def on_save(self, config: TrainConfig, state: TrainState, control: TrainerControl) -> None:
        self._report(state, state.epoch)
