"""What the ship scripts (ship_model.py, ship_retrained.py, p3m_shift.py --apply) share: a staging directory
beside the models, so a half-written model never sits where the app reads them, the swap of a finished one into
place, and the held-out figures and Platt calibration every shipped model carries."""
from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import machine


@contextmanager
def staging(models: Path) -> Iterator[Path]:
    """A temporary directory on the models' file system (the final move is a rename), removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="ship-", dir=models.parent))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def put_in_place(staged: Path, target: Path) -> None:
    """Replace `target` (if any) by the finished `staged` checkpoint directory."""
    if target.exists():
        shutil.rmtree(target)
    shutil.move(str(staged), target)


def heldout_f1(directory: Path, heldout, train) -> tuple[float, dict]:
    """fp32-inference held-out F1 of a checkpoint, and the figures the model picker shows (`metrics.dev`)."""
    from engine.data.metrics import evaluate  # noqa: PLC0415
    from engine.serve.predictor import Predictor  # noqa: PLC0415

    scores = Predictor.from_checkpoint(directory, "cpu", precision="float32").predict(heldout)
    report = evaluate(heldout, [[(h, t, r) for h, t, r, _ in s.predicted_triples()] for s in scores], train)
    return report.overall.f1, {"f1": report.overall.f1, "ign_f1": report.ign_f1, "precision": report.overall.precision,
                               "recall": report.overall.recall}


def calibrate_on_heldout(checkpoint: Path, data: Path) -> None:
    """Fit and store the checkpoint's Platt calibration on the `heldout` titles, as every shipped model's is."""
    from engine.cli.main import main as engine  # noqa: PLC0415

    argv = ["--quiet", "calibrate", "--checkpoint", str(checkpoint),
            "--input", str(data / "redocred" / "dev_revised.json"),
            "--split", f"{data / 'redocred' / 'split.json'}:heldout", "--precision", "float32"]
    if engine(argv) != 0:
        raise SystemExit(f"python -m engine {' '.join(argv)} failed")


def shipped_on() -> str:
    """The machine line without its host name, for a shipped model's lineage."""
    return re.sub(r"^[^:]*: ", "", machine())
