"""A model retrained on every labelled document (train and held-out alike) has no honest held-out figure of its
own. Its lineage names its twin: the same schedule from the same starting weights on the training titles only.
The twin's held-out figures are the ones the model shows, and anything that measures or learns on held-out
documents (evaluation, calibration, the review ranker's features) uses the twin in its place.

The twin is not shipped: the shipped weights' budget (100 MB) holds the models a user runs, and only
measurements need the twin. Its files sit in the git history (lineage `twin_source`: a commit and the path its
files had there) and are restored, on first use, into the lineage's `twin` directory (under the ignored
runs/ folder)."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from engine.errors import CheckpointError
from engine.model.history import restore_files

log = logging.getLogger(__name__)

TWIN_KEY = "twin"  # lineage[TWIN_KEY]: the twin's directory, relative to the model's own directory
SOURCE_KEY = "twin_source"  # lineage[SOURCE_KEY]: {"commit", "path", "files"}, where git history holds the twin
# train_config keys a twin shares with its model: everything but the data (and the starting point's path)
SCHEDULE_KEYS = ("epochs", "batch_size", "grad_accumulation", "lr_encoder", "lr_classifier", "weight_decay",
                 "warmup_ratio", "max_grad_norm", "seed", "drop_labels")


def schedule_differences(twin: Mapping[str, Any], model: Mapping[str, Any]) -> list[str]:
    """Where two checkpoint configs differ in method or training schedule: none for a true twin. Keys are
    compared under their current names (an older config says lr_head for lr_classifier)."""
    from engine.config import TrainConfig  # noqa: PLC0415

    a, b = (TrainConfig.with_new_names(c.get("train_config") or {}) for c in (twin, model))
    differ = [f"train_config.{k}: {a.get(k)!r} != {b.get(k)!r}" for k in SCHEDULE_KEYS if a.get(k) != b.get(k)]
    if twin.get("method") != model.get("method"):
        differ.append(f"method: {twin.get('method')!r} != {model.get('method')!r}")
    return differ


def named_twin(directory: str | Path, lineage: Mapping[str, Any] | None) -> Path | None:
    """The twin's directory as a checkpoint's lineage names it (whether or not it is there), or None."""
    if not lineage or not lineage.get(TWIN_KEY):
        return None
    return (Path(directory) / str(lineage[TWIN_KEY])).resolve()


def twin_path(directory: str | Path, lineage: Mapping[str, Any] | None) -> Path | None:
    """The twin's directory named by a checkpoint's lineage, or None for a model without one. A named twin that
    is missing is an error, not a silent fallback: without it the model's figures cannot be checked."""
    path = named_twin(directory, lineage)
    if path is None:
        return None
    if not (path / "config.json").is_file() and lineage.get(SOURCE_KEY):
        restore_twin(Path(directory), lineage[SOURCE_KEY], path)
    if not (path / "config.json").is_file():
        raise CheckpointError(f"{directory}: its lineage names the twin {lineage[TWIN_KEY]!r} ({path}), which holds "
                              "no checkpoint and could not be restored from git history; the twin measures this "
                              "model on held-out documents")
    return path


def restore_twin(directory: Path, source: Mapping[str, Any], into: Path) -> None:
    """The twin's files from the commit that holds them (engine.model.history), said in the log."""
    if restore_files(directory, source, into):
        log.info("the twin of %s restored from commit %s into %s", directory, source["commit"][:12], into)



def checkpoint_twin(directory: str | Path) -> Path | None:
    """twin_path() of a checkpoint directory, read from its config.json."""
    from engine.model.checkpoint import read_checkpoint_config  # noqa: PLC0415 - torch only when a twin is asked for

    return twin_path(directory, read_checkpoint_config(directory).get("lineage"))


def measured_in_place(directories: Iterable[str | Path]) -> list[Path]:
    """The checkpoints to score held-out documents with: each one, or its twin where it has one (said in the log),
    so that no measurement scores documents with a model that trained on them."""
    out = []
    for directory in directories:
        twin = checkpoint_twin(directory)
        if twin is not None:
            log.info("%s trained on the held-out documents too: its twin %s is measured in its place", directory, twin)
        out.append(Path(twin if twin is not None else directory))
    return out
