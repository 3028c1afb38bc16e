"""bench/ship_retrained.py: the shipped model becomes the twin, unchanged; the retrained run is stored beside it
with the twin's decoding options, calibration and held-out figures and a lineage naming the twin, and it loads;
a run on another schedule is refused, naming what differs, and nothing is moved."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.paths import ROOT

sys.path.insert(0, str(ROOT / "bench"))

SCHEDULE = {"epochs": 4, "batch_size": 4, "lr_encoder": 2e-5, "lr_classifier": 5e-5, "seed": 66}


def _models(tiny_encoder_dir: Path, root: Path) -> tuple[Path, Path]:
    """root/models/tiny (the shipped model: calibrated, 400 documents) and root/run (the retrained run)."""
    from engine.model.checkpoint import update_checkpoint_config
    from tests.app_support import build_models_dir

    models = build_models_dir(tiny_encoder_dir, root / "models", ("tiny", "run"))
    run = root / "run"
    shutil.move(str(models / "run"), run)
    update_checkpoint_config(models / "tiny", train_config={**SCHEDULE, "init_from": "stage1-fp16"}, data_hash="400",
                             calibration={"slope": 0.5, "intercept": -1.0, "n_fitted": 10})
    update_checkpoint_config(run, train_config={**SCHEDULE, "init_from": "stage1-int8"}, data_hash="500")
    return models, run


def _ship(root: Path, models: Path, run: Path) -> int:
    import ship_retrained

    return ship_retrained.main(["--name", "tiny", "--run", str(run), "--training-documents", "500",
                                "--twin-documents", "400", "--init-from", "stage 1", "--models", str(models),
                                "--twins", str(root / "twins")])


def test_the_shipped_model_becomes_the_twin_and_the_retrained_one_shows_its_figures(tiny_encoder_dir, tmp_path):
    from engine.model.checkpoint import check_checkpoint, read_checkpoint_config
    from engine.model.twin import checkpoint_twin

    models, run = _models(tiny_encoder_dir, tmp_path)
    before = json.loads((models / "tiny" / "config.json").read_text(encoding="utf-8"))
    assert _ship(tmp_path, models, run) == 0
    twin = tmp_path / "twins" / "tiny"
    assert json.loads((twin / "config.json").read_text(encoding="utf-8")) == before  # moved as it was
    shipped = read_checkpoint_config(models / "tiny")
    check_checkpoint(models / "tiny")
    assert checkpoint_twin(models / "tiny") == twin.resolve()
    assert shipped["data_hash"] == "500" and shipped["save_dtype"] == "int8"
    for field in ("method_config", "calibration"):
        assert shipped[field] == before[field], field
    assert shipped["metrics"]["dev"] == before["metrics"]["dev"]
    assert shipped["lineage"]["training_documents"] == 500 and shipped["lineage"]["twin_training_documents"] == 400


def test_a_run_on_another_schedule_is_refused_and_nothing_moves(tiny_encoder_dir, tmp_path):
    from engine.model.checkpoint import update_checkpoint_config

    models, run = _models(tiny_encoder_dir, tmp_path)
    update_checkpoint_config(run, train_config={**SCHEDULE, "epochs": 8})
    with pytest.raises(SystemExit, match=r"is not .*twin: train_config.epochs: 4 != 8"):
        _ship(tmp_path, models, run)
    assert json.loads((models / "tiny" / "config.json").read_text(encoding="utf-8"))["data_hash"] == "400"
    assert not (tmp_path / "twins").exists()
