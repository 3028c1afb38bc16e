"""Model discovery for the CLI (`suggest` without --checkpoint) skips a broken checkpoint directory with a
warning naming it and why, and keeps the sound ones; `train-ranker` swaps in the twin of a model retrained on
every document."""
from __future__ import annotations

import json
import logging
import shutil

import pytest

from engine.cli.suggest import discover_models
from tests.paths import ROOT


def test_a_bad_directory_is_skipped_with_a_warning(tmp_path, caplog):
    shipped = ROOT / "assets" / "models" / "atlop"
    models = tmp_path / "models"
    (models / "good").mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):  # copies: a link out of a checkpoint's directory is refused
        shutil.copyfile(shipped / name, models / "good" / name)
    (models / "listed").mkdir()
    (models / "listed" / "config.json").write_text("[]")
    shutil.copyfile(shipped / "model.safetensors", models / "listed" / "model.safetensors")
    fewer = models / "fewer"
    fewer.mkdir()
    config = json.loads((shipped / "config.json").read_text())
    config["schema"]["relation_ids"] = config["schema"]["relation_ids"][:50]
    (fewer / "config.json").write_text(json.dumps(config))
    shutil.copyfile(shipped / "model.safetensors", fewer / "model.safetensors")
    shutil.copytree(models / "good", models / "zcopy")
    with caplog.at_level(logging.WARNING):
        found = discover_models(models)
    assert found == [models / "good", models / "zcopy"]
    skipped = [r.getMessage() for r in caplog.records if "skipping model" in r.getMessage()]
    assert len(skipped) == 2
    assert any(str(models / "listed" / "config.json") in m and "expected a JSON object" in m for m in skipped)
    assert any(str(fewer / "model.safetensors") in m and "schema.relation_ids: 50 relations" in m for m in skipped)


def test_train_ranker_scores_with_the_twin_of_a_model_retrained_on_every_document(monkeypatch, tmp_path):
    """Its features must be margins on documents the models never saw: the shipped default trained on the
    held-out titles too, so the ranker trained on them reads its twin's margins instead."""
    import engine.cli.ranker as ranker_cli
    from engine.cli.main import main

    twin = ROOT / "runs" / "twins" / "paee"  # where the lineage restores it (not shipped)
    seen: list = []

    def refuse(_args, checkpoints, _docs):
        seen.extend(checkpoints)
        raise SystemExit(3)

    monkeypatch.setattr(ranker_cli, "scores_for", refuse)
    monkeypatch.setattr(ranker_cli, "discover_models",
                        lambda: [ROOT / "assets" / "models" / "atlop", ROOT / "assets" / "models" / "paee"])
    docs = ROOT / "assets" / "samples" / "redocred_heldout_sample.json"
    with pytest.raises(SystemExit, match="3"):
        main(["train-ranker", "--output", str(tmp_path / "ranker"), "--real", str(docs), str(docs)])
    assert seen == [ROOT / "assets" / "models" / "atlop", twin.resolve()]
