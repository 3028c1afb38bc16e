"""Training callbacks in the style of transformers' `TrainerCallback`: each hook receives the run's
`TrainConfig`, the trainer's `TrainState` and a `TrainerControl`, never the trainer. They observe and steer
(set control flags); the trainer owns the history, evaluation and saving."""
from __future__ import annotations

from tqdm.auto import tqdm

from engine.config import TrainConfig
from engine.train.state import TrainerControl, TrainState


class TrainerCallback:
    """No-op hooks, so a callback implements only what it needs."""

    def on_train_begin(self, config: TrainConfig, state: TrainState, control: TrainerControl) -> None: ...
    def on_epoch_begin(self, config: TrainConfig, state: TrainState, control: TrainerControl) -> None: ...
    def on_step_end(self, config: TrainConfig, state: TrainState, control: TrainerControl) -> None: ...
    def on_epoch_end(self, config: TrainConfig, state: TrainState, control: TrainerControl) -> None: ...
    def on_evaluate(self, config: TrainConfig, state: TrainState, control: TrainerControl, metrics: dict) -> None: ...
    def on_save(self, config: TrainConfig, state: TrainState, control: TrainerControl) -> None: ...
    def on_train_end(self, config: TrainConfig, state: TrainState, control: TrainerControl) -> None: ...


class EpochFlow(TrainerCallback):
    """The default flow: evaluate and save after every epoch (the trainer adds it first)."""

    def on_epoch_end(self, config: TrainConfig, state: TrainState, control: TrainerControl) -> None:
        control.should_evaluate = control.should_save = True


class ProgressBar(TrainerCallback):
    """A tqdm bar per epoch showing the trainer's running loss and documents/s; it keeps no figures itself."""

    def __init__(self, disable: bool = False) -> None:
        self.disable = disable
        self.bar: tqdm | None = None

    def on_epoch_begin(self, config: TrainConfig, state: TrainState, control: TrainerControl) -> None:
        self.bar = tqdm(total=state.num_batches, desc=f"epoch {state.epoch + 1}/{config.epochs}", disable=self.disable,
                        dynamic_ncols=True)

    def on_step_end(self, config: TrainConfig, state: TrainState, control: TrainerControl) -> None:
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{state.epoch_loss:.4f}", docs_s=f"{state.docs_per_second:.2f}")
            self.bar.update(state.batch - self.bar.n)

    def on_epoch_end(self, config: TrainConfig, state: TrainState, control: TrainerControl) -> None:
        if self.bar is not None:
            self.bar.close()
