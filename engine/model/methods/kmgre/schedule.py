"""KMGRE's training schedule (Jiang et al., COLING 2022, Algorithm 1 and Sec. 4.3): which EM phase a step
belongs to, and the threshold control tau of Eq. 13, as pure functions of the trainer's (epoch, step).

Algorithm 1 first trains both modules for several epochs, then loops: an E-step pass over the train set
updates omega and, after every update, tau (line 8); an M-step pass updates theta with the current tau.
Sec. 4.3 ramps tau as tau = 0.5 (1 - 0.999^step): on Revisit-DocRED (about 760 steps an epoch at batch 4)
that is 53% of the limit after one E-step epoch, 90% after three, 99% after six, well inside the paper's
run. Two schedules:

- "e_step" (kmgre.v2): Algorithm 1's counting. n = the E-step updates taken so far, and
  tau = tau_max (1 - 0.01^(n / N)), N = tau_rampup_epochs epochs' worth of steps, so tau reaches 99% of its
  limit after tau_rampup_epochs E-step epochs whatever the data size: the paper's ramp, scaled to the run.
  The head learns an epoch's length from the trainer's calls (the step at which an epoch starts, over its
  index), so this needs at least one warm-up epoch before EM begins.
- "global_step" (kmgre.v1, the shipped model): tau = tau_max (1 - tau_decay^step) on the trainer's global
  step, E- and M-steps alike. With 0.999 and ~80 steps an epoch it reached only 0.197 of a 0.5 limit in 6
  epochs; kept so that old configs train and load as they did."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

RAMP_REACHED = 0.01  # tau is within 1% of tau_max after the ramp: 1 - RAMP_REACHED of it


class Phase(Enum):
    """What a training step updates: both modules (warm-up), omega only (E-step) or theta only (M-step)."""

    WARMUP = "warmup"
    E_STEP = "e-step"
    M_STEP = "m-step"


class TauSchedule(str, Enum):
    E_STEP = "e_step"
    GLOBAL_STEP = "global_step"


class Alternation(str, Enum):
    EPOCH = "epoch"
    STEP = "step"


def em_phase(epoch: int, step: int, *, warmup_epochs: int, alternation: str) -> Phase:
    """The phase of the step the trainer is about to take: warm-up epochs, then E/M alternating per epoch
    (Algorithm 1) or per global optimisation step (E on even steps)."""
    if epoch < warmup_epochs:
        return Phase.WARMUP
    turn = epoch - warmup_epochs if Alternation(alternation) is Alternation.EPOCH else step
    return Phase.E_STEP if turn % 2 == 0 else Phase.M_STEP


def e_step_updates(epoch: int, step: int, *, epoch_start: int, steps_per_epoch: float, warmup_epochs: int,
                   alternation: str) -> float:
    """How many E-step updates came before global step `step` (taken at `epoch`, which began at global step
    `epoch_start`). Per-epoch alternation: every completed E-step epoch of EM counts an epoch of steps, plus
    the steps of the current one if it is an E-step epoch. Per-step alternation: the even steps since EM began."""
    if epoch < warmup_epochs:
        return 0.0
    if Alternation(alternation) is Alternation.EPOCH:
        turn = epoch - warmup_epochs
        done = (turn + 1) // 2  # E-step epochs before this one (turns 0, 2, 4, ...)
        return done * steps_per_epoch + (step - epoch_start if turn % 2 == 0 else 0)
    em_start = round(warmup_epochs * steps_per_epoch)
    return float((step + 1) // 2 - (em_start + 1) // 2)  # even global steps in [em_start, step)


def tau_after_e_steps(updates: float, *, ramp_steps: float, tau_max: float) -> float:
    """tau_max (1 - 0.01^(updates / ramp_steps)): 0 before any E-step, 99% of tau_max after ramp_steps."""
    return tau_max * (1.0 - RAMP_REACHED ** (updates / ramp_steps))


def tau_global_step(step: int, *, tau_max: float, tau_decay: float) -> float:
    """kmgre.v1: tau_max (1 - tau_decay^step) on the global optimisation step."""
    return tau_max * (1.0 - tau_decay ** step)


@dataclass
class EmSchedule:
    """Phase and tau for each (epoch, step) the trainer reports; remembers where the current epoch began, which
    gives an epoch's length (all epochs have the same number of steps) once the first one is over."""

    warmup_epochs: int
    alternation: str
    tau_schedule: str
    tau_max: float
    tau_decay: float
    tau_rampup_epochs: float
    _epoch: int = -1
    _epoch_start: int = 0

    def __call__(self, epoch: int, step: int) -> tuple[Phase, float]:
        if epoch != self._epoch:
            self._epoch, self._epoch_start = epoch, step
        phase = em_phase(epoch, step, warmup_epochs=self.warmup_epochs, alternation=self.alternation)
        if phase is Phase.WARMUP:
            return phase, 0.0  # every mention pair is key while both modules warm up
        if TauSchedule(self.tau_schedule) is TauSchedule.GLOBAL_STEP:
            return phase, tau_global_step(step, tau_max=self.tau_max, tau_decay=self.tau_decay)
        steps_per_epoch = self._epoch_start / epoch  # epoch >= warmup_epochs >= 1 (the config checks it)
        updates = e_step_updates(epoch, step, epoch_start=self._epoch_start, steps_per_epoch=steps_per_epoch,
                                 warmup_epochs=self.warmup_epochs, alternation=self.alternation)
        ramp = max(self.tau_rampup_epochs * steps_per_epoch, 1.0)
        return phase, tau_after_e_steps(updates, ramp_steps=ramp, tau_max=self.tau_max)
