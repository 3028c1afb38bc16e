"""Which checkpoints score, under which names, and scoring documents with them: shared by `suggest`, the
score cache and the benchmarks. torch is imported only when a model actually runs."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from engine.cli.common import progress_bar
from engine.data.documents import Document
from engine.data.pair_scores import PairScores
from engine.errors import CheckpointError
from engine.settings import get_settings

log = logging.getLogger(__name__)
CONFIG_FILE = "config.json"


def discover_models(models_dir: Path | None = None) -> list[Path]:
    """Every subdirectory of the shipped models directory that holds a checkpoint (config.json), sorted."""
    models_dir = models_dir if models_dir is not None else get_settings().models_dir
    found = sorted(p for p in models_dir.glob("*") if (p / CONFIG_FILE).is_file()) if models_dir.is_dir() else []
    if not found:
        raise CheckpointError(f"no model found: no subdirectory of {models_dir} holds a {CONFIG_FILE}; "
                              "pass --checkpoint DIR (a directory written by `train`) or set DOCRE_MODELS_DIR")
    return found


def model_names(paths: Sequence[Path]) -> list[str]:
    """Short names for the evidence: the directory name, or the whole path where two names clash."""
    names = [p.name for p in paths]
    return [p.name if names.count(p.name) == 1 else str(p) for p in paths]


def score_documents(checkpoints: Sequence[Path], docs: Sequence[Document], device: str | None = None,
                    quiet: bool = False) -> dict[str, list[PairScores]]:
    """Each checkpoint's scores for every document, one model in memory at a time."""
    from engine.serve.predictor import Predictor  # noqa: PLC0415 - torch only when models run

    out: dict[str, list[PairScores]] = {}
    for name, path in zip(model_names(checkpoints), checkpoints):
        predictor = Predictor.from_checkpoint(path, device)
        out[name] = predictor.predict(docs, progress_bar(f"scoring ({name})", quiet))
        del predictor
    return out
