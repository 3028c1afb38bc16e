"""A model retrained on every document names its twin (engine.model.twin): measurements on held-out documents use
the twin, a missing twin is an error that names it, the schedule check finds what differs, and `evaluate` warns
(the model picker's label: tests/app/services/test_model_labels.py)."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from engine.errors import CheckpointError
from engine.model.twin import measured_in_place, schedule_differences, twin_path

SCHEDULE = {"epochs": 4, "batch_size": 4, "lr_encoder": 2e-5, "lr_head": 5e-5, "seed": 66}


def _config(directory: Path, **fields) -> Path:
    directory.mkdir(parents=True)
    (directory / "config.json").write_text(json.dumps({"method": "paee.v1", "train_config": SCHEDULE, **fields}),
                                           encoding="utf-8")
    return directory


def test_the_twin_is_resolved_from_the_models_own_directory(tmp_path):
    twin = _config(tmp_path / "assets" / "twins" / "paee")
    model = tmp_path / "assets" / "models" / "paee"
    assert twin_path(model, {"twin": "../../twins/paee"}) == twin.resolve()
    assert twin_path(model, {"base_model": "paee"}) is None and twin_path(model, None) is None


def test_a_missing_twin_is_an_error_that_names_it(tmp_path):
    with pytest.raises(CheckpointError, match=r"names the twin '../../twins/paee'.*holds no checkpoint"):
        twin_path(tmp_path / "models" / "paee", {"twin": "../../twins/paee"})


def test_held_out_measurements_use_the_twin_in_place_and_say_so(tmp_path, monkeypatch, caplog):
    import engine.model.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "read_checkpoint_config",
                        lambda d: json.loads((Path(d) / "config.json").read_text(encoding="utf-8")))
    twin = _config(tmp_path / "twins" / "paee")
    retrained = _config(tmp_path / "models" / "paee", lineage={"twin": "../../twins/paee"})
    plain = _config(tmp_path / "models" / "atlop")
    with caplog.at_level(logging.INFO, logger="engine.model.twin"):
        assert measured_in_place([retrained, plain]) == [twin.resolve(), plain]
    assert f"{retrained} trained on the held-out documents too: its twin {twin.resolve()}" in caplog.text


def test_the_schedule_check_names_each_difference():
    twin = {"method": "paee.v1", "train_config": {**SCHEDULE, "init_from": "runs/paee"}}
    same = {"method": "paee.v1", "train_config": {**SCHEDULE, "init_from": "runs/paee-stage1"}}
    assert schedule_differences(twin, same) == []  # where it started from is a path, not the schedule
    renamed = {**SCHEDULE, "lr_classifier": SCHEDULE["lr_head"]}
    del renamed["lr_head"]
    assert schedule_differences(twin, {"method": "paee.v1", "train_config": renamed}) == []  # an older key name
    other = {"method": "ncrl.v1", "train_config": {**SCHEDULE, "epochs": 8}}
    assert schedule_differences(twin, other) == ["train_config.epochs: 4 != 8", "method: 'paee.v1' != 'ncrl.v1'"]


def test_evaluate_warns_that_a_retrained_models_held_out_figures_are_in_sample(tmp_path, monkeypatch, caplog):
    import engine.model.checkpoint as checkpoint
    from engine.cli.main import warn_of_twins

    monkeypatch.setattr(checkpoint, "read_checkpoint_config",
                        lambda d: json.loads((Path(d) / "config.json").read_text(encoding="utf-8")))
    twin = _config(tmp_path / "twins" / "paee")
    retrained = _config(tmp_path / "models" / "paee", lineage={"twin": "../../twins/paee"})
    with caplog.at_level(logging.WARNING, logger="engine"):
        warn_of_twins([str(_config(tmp_path / "models" / "atlop"))])
        assert caplog.text == ""
        warn_of_twins([str(retrained)])
    assert "the held-out titles included: figures on those are in-sample" in caplog.text
    assert f"evaluate --checkpoint {twin.resolve()}" in caplog.text


def test_a_twin_out_of_the_tree_is_restored_from_the_commit_its_lineage_names(tmp_path):
    """The twin is not shipped (the weights budget holds the models a user runs): its files come back from git
    history on first use, byte for byte; a clone without that commit gets the error that names the twin."""
    import subprocess

    repo = tmp_path / "repo"
    stored = _config(repo / "assets" / "twins" / "paee")
    (stored / "model.safetensors").write_bytes(b"twin weights")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "twin"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([*git, "rm", "-rq", "assets/twins"], check=True)
    model = _config(repo / "assets" / "models" / "paee")
    source = {"commit": commit, "path": "assets/twins/paee", "files": ["config.json", "model.safetensors"]}
    lineage = {"twin": "../../../runs/twins/paee", "twin_source": source}
    restored = twin_path(model, lineage)
    assert restored == (repo / "runs" / "twins" / "paee").resolve()
    assert (restored / "model.safetensors").read_bytes() == b"twin weights"
    assert json.loads((restored / "config.json").read_text())["method"] == "paee.v1"

    missing = {"twin": "../../../runs/twins/other", "twin_source": {**source, "commit": "0" * 40}}
    with pytest.raises(CheckpointError, match="could not be restored from git history"):
        twin_path(model, missing)
    assert list((repo / "runs" / "twins" / "other").iterdir()) == []  # nothing half-written is left
