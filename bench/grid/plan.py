"""The methods grid's protocol: which runs exist, in which order, and the exact `python -m engine train`
arguments of each, so that any session (and any CPU) continues the same experiment.

Protocol (issue 23), chosen for 2-core CPUs:
- Every method continues a warm start with the same budget, counted in document-steps: `Budget.epochs` passes
  over the 400 `train` titles of shared/data/redocred/split.json, encoder rate 3e-5, classifier rate 1e-4, the
  engine's batch size and warm-up. atlop continuing under the same budget is the baseline.
- The warm start is per labelling setting: `full` continues the shipped atlop (assets/models/atlop); `half`
  continues an atlop trained once, from the bare encoder, on the half-label `train` set (`--drop-labels 0.5
  --label-seed 0`), so that no hidden label leaks into that setting. Every run of the half setting hides the
  same triples as that warm start (`--label-seed 0`), whatever its own seed.
- No dev set: the last epoch is the checkpoint, so nothing is chosen on held-out documents. Each paper's own
  settings are the defaults of its method config (from the paper; `methods --verbose` lists them).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

SETTINGS: dict[str, float] = {"full": 0.0, "half": 0.5}  # setting -> share of training triples hidden
LABEL_SEED = 0  # the hidden-triple draw of the half setting, shared by its warm start and every run
METHODS: tuple[str, ...] = ("atlop", "ncrl", "pemscl", "p3m", "paee", "kmgre")
BASELINE = "atlop"
SEEDS: tuple[int, ...] = (0, 1, 2)
# (setting, method) -> --option values that differ from the method config's defaults, each from its paper.
# P3M with full labels: the paper's fully-labelled Re-DocRED setting (dropout 0.1, mixup weight 0.01); with half
# labels its incomplete-labelling setting, which the config's defaults are (0.2, 0.05); k stays "from the regime".
METHOD_OPTIONS: dict[tuple[str, str], dict[str, Any]] = {("full", "p3m"): {"dropout": 0.1, "mixup_strength": 0.01}}
# Methods whose classifier has no counterpart in atlop to warm-start from, so it starts random and needs the rate a
# fresh head trains at: KMGRE's mention-level extractor (Eq. 6, a linear layer; atlop's is a grouped bilinear) barely
# left its initialisation at 1e-4 in 4 epochs (weight std 0.0179 against 0.0170 fresh; held-out F1 26.6), and the
# shipped kmgre.v1 trained its head at 1e-3. Its EM schedule is scaled to the budget: one warm-up epoch, then E, M, E.
METHOD_CLASSIFIER_RATE: dict[str, float] = {"kmgre": 1e-3}
METHOD_OPTIONS[("full", "kmgre")] = METHOD_OPTIONS[("half", "kmgre")] = {"warmup_epochs": 1}
# Decoding choices made on an inner split of train (never on held-out), each in its own small JSON: they change
# how a trained run's margins are read, not the training, so they are set in the finished checkpoint's config
# before it is measured. P3M's decision shift (bench/p3m_shift.py) for the full setting; the half setting keeps
# Eq. 1's rule until a choice of its own exists.
DECISION_CHOICES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("full", "p3m"): ("bench/ledger/budget/full-p3m-shift.json", "chosen_decision_shift", "decision_shift")}


def decision_options(setting: str, method: str, root: Path) -> dict[str, Any]:
    """{method_config key: value} of the decoding choices recorded for this cell (empty when none is)."""
    if (setting, method) not in DECISION_CHOICES:
        return {}
    relative, field_name, option_name = DECISION_CHOICES[(setting, method)]
    path = root / relative
    if not path.is_file():
        return {}
    return {option_name: json.loads(path.read_text(encoding="utf-8"))[field_name]}


@dataclass(frozen=True)
class Budget:
    """What every run of the grid gets, warm starts excepted."""

    epochs: int = 4
    lr_encoder: float = 3e-5
    lr_classifier: float = 1e-4
    max_train_docs: int | None = None  # smoke runs and tests only

    def classifier_rate(self, method: str) -> float:
        return METHOD_CLASSIFIER_RATE.get(method, self.lr_classifier)

    def engine_args(self, method: str) -> list[str]:
        out = ["--epochs", str(self.epochs), "--lr-encoder", str(self.lr_encoder),
               "--lr-classifier", str(self.classifier_rate(method))]
        if self.max_train_docs:
            out += ["--max-train-docs", str(self.max_train_docs)]
        return out


@dataclass(frozen=True)
class WarmStartRecipe:
    """How the half setting's warm start is built when it is missing: atlop from the bare encoder on the
    half-label train set, the shipped atlop's rates, then compressed to int8 (`engine compress`) so that it
    can be committed and every later session continues the very same weights."""

    epochs: int = 10
    lr_encoder: float = 1e-4
    lr_classifier: float = 1e-4
    seed: int = 66
    max_train_docs: int | None = None

    def engine_args(self) -> list[str]:
        out = ["--method", "atlop", "--epochs", str(self.epochs), "--lr-encoder", str(self.lr_encoder),
               "--lr-classifier", str(self.lr_classifier), "--seed", str(self.seed), "--drop-labels",
               str(SETTINGS["half"]),
               "--label-seed", str(LABEL_SEED)]
        if self.max_train_docs:
            out += ["--max-train-docs", str(self.max_train_docs)]
        return out


@dataclass(frozen=True)
class GridRun:
    """One cell and seed of the grid."""

    setting: str
    method: str
    seed: int

    @property
    def key(self) -> str:
        return f"{self.setting}-{self.method}-s{self.seed}"

    @property
    def drop_labels(self) -> float:
        return SETTINGS[self.setting]


@dataclass(frozen=True)
class Paths:
    """Where the grid reads and writes."""

    root: Path
    data: Path
    runs: Path  # checkpoints and resume state (ignored by git)
    ledger: Path  # one JSON per finished run (committed)
    warm_full: Path  # the full setting's warm start
    warm_half: Path  # the half setting's int8 warm start (rebuilt when missing; its identity is committed)
    encoder: str = ""  # the encoder of a warm start built from scratch ("" = the engine's default)
    extra_train_args: tuple[str, ...] = field(default=())  # e.g. --device

    def warm_start(self, setting: str) -> Path:
        return self.warm_full if setting == "full" else self.warm_half

    def run_dir(self, run: GridRun) -> Path:
        return self.runs / run.setting / f"{run.method}-s{run.seed}"

    def record(self, run: GridRun) -> Path:
        return self.ledger / f"{run.key}.json"


def plan(settings: Sequence[str], methods: Sequence[str], seeds: Sequence[int]) -> list[GridRun]:
    """Runs in the order that makes the ledger useful soonest: seed by seed (a whole first seed of every
    method before any second seed), and within a seed the full setting first."""
    return [GridRun(setting, method, seed) for seed in seeds for setting in settings for method in methods]


def data_args(paths: Paths) -> list[str]:
    redocred = paths.data / "redocred"
    return ["--train", str(redocred / "dev_revised.json"), "--train-split", f"{redocred / 'split.json'}:train"]


def train_args(run: GridRun, budget: Budget, paths: Paths, encoder: str) -> list[str]:
    """`python -m engine` arguments of one grid run (the same for a fresh start and a resume); `encoder` is
    the warm start's, whose weights the run continues."""
    out = ["--quiet", "train", "--method", run.method, *data_args(paths), "--output", str(paths.run_dir(run)),
           "--seed", str(run.seed), "--init-from", _relative(paths.warm_start(run.setting), paths.root),
           "--encoder", encoder, *budget.engine_args(run.method), *paths.extra_train_args]
    if run.drop_labels:
        out += ["--drop-labels", str(run.drop_labels), "--label-seed", str(LABEL_SEED)]
    for key, value in METHOD_OPTIONS.get((run.setting, run.method), {}).items():
        out += ["--option", f"{key}={value}"]
    return out


def warm_start_args(recipe: WarmStartRecipe, paths: Paths, output: Path) -> list[str]:
    out = ["--quiet", "train", *recipe.engine_args(), *data_args(paths), "--output", str(output),
           *paths.extra_train_args]
    return out + (["--encoder", paths.encoder] if paths.encoder else [])


def _relative(path: Path, root: Path) -> str:
    """A path as the training config records it: relative to the project root where it lies inside, so a
    run directory means the same on every checkout."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
