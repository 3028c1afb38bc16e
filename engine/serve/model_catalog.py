"""The checkpoints under a models directory, found once for the CLI and the app alike: each one that passes
the checks (config.json fields and the weights' header, no model built) with its method and dev F1, and
one line per directory skipped, so a single broken or tampered directory never hides the others."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import CheckpointError
from engine.model.checkpoint import CONFIG_FILE, check_checkpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckpointInfo:
    """A usable checkpoint directory: what it is, without loading it."""

    name: str
    path: Path
    method: str
    dev_f1: float | None  # metrics.dev.f1, as `train` records it
    relation_names: tuple[tuple[str, str], ...]
    lineage: dict | None = field(default=None, hash=False)  # where it came from (fine-tune, bench/ship_model.py)


@dataclass(frozen=True)
class CheckpointScan:
    found: tuple[CheckpointInfo, ...]
    skipped: tuple[str, ...]  # "directory: why", one per directory that failed the checks


def scan_checkpoints(models_dir: Path) -> CheckpointScan:
    """Every subdirectory holding config.json, checked; sorted by name."""
    found, skipped = [], []
    directories = sorted(p for p in models_dir.iterdir() if p.is_dir()) if models_dir.is_dir() else []
    root = models_dir.resolve()
    for directory in directories:
        if not (directory / CONFIG_FILE).exists():
            continue
        try:
            if not directory.resolve().is_relative_to(root):
                raise CheckpointError(f"{directory} is a link to a directory outside the models folder {root}; "
                                      "models are read only from inside it: copy the checkpoint there")
            config = check_checkpoint(directory)
        except (CheckpointError, OSError) as err:  # one broken or hostile directory never hides the others
            log.warning("skipping model %s: %s", directory, err)
            skipped.append(f"{directory.name}: {err}")
            continue
        dev = (config.get("metrics") or {}).get("dev") or {}
        f1 = dev.get("f1") if isinstance(dev, dict) else None
        names = (config.get("schema") or {}).get("names") or {}
        lineage = config.get("lineage")
        found.append(CheckpointInfo(directory.name, directory.resolve(), str(config.get("method", "?")),
                                    float(f1) if isinstance(f1, (int, float)) else None, tuple(sorted(names.items())),
                                    lineage if isinstance(lineage, dict) else None))
    return CheckpointScan(tuple(found), tuple(skipped))
