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


def discover_models(models_dir: Path | None = None) -> list[Path]:
    """Every sound checkpoint under the models directory (engine.serve.model_catalog, shared with the app),
    sorted; a broken one is skipped with a warning, and none at all is an error that says what to pass."""
    from engine.serve.model_catalog import scan_checkpoints  # noqa: PLC0415 - torch only when models are looked for

    models_dir = models_dir if models_dir is not None else get_settings().models_dir
    scan = scan_checkpoints(models_dir)
    if not scan.found:
        raise CheckpointError(f"no model found: no subdirectory of {models_dir} holds a usable checkpoint "
                              f"({len(scan.skipped)} skipped, see the warnings); pass --checkpoint DIR (a directory "
                              "written by `train`) or set DOCRE_MODELS_DIR")
    return [info.path for info in scan.found]


def model_names(paths: Sequence[Path]) -> list[str]:
    """Short names for the evidence: the directory name, or the whole path where two names clash."""
    names = [p.name for p in paths]
    return [p.name if names.count(p.name) == 1 else str(p) for p in paths]


def score_documents(checkpoints: Sequence[Path], docs: Sequence[Document], device: str | None = None,
                    quiet: bool = False, allow_download: bool | None = None) -> dict[str, list[PairScores]]:
    """Each checkpoint's scores for every document, one model in memory at a time."""
    from engine.serve.predictor import Predictor  # noqa: PLC0415 - torch only when models run

    out: dict[str, list[PairScores]] = {}
    for name, path in zip(model_names(checkpoints), checkpoints):
        predictor = Predictor.from_checkpoint(path, device, allow_download=allow_download)
        out[name] = predictor.predict(docs, progress_bar(f"scoring ({name})", quiet))
        del predictor
    return out
