"""Fine-tuning a checkpoint as it is (engine.train.finetune, `python -m engine train --init-from` without
--method): documents without labels are refused by name; the new checkpoint records its lineage, keeps the base's
calibration, is found by the model catalogue and scores like any other; the CLI recipe runs end to end."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from engine.cli.main import main as engine_main
from engine.config import TrainConfig
from engine.data.documents import document_to_json
from engine.errors import InputFileError
from engine.model.checkpoint import read_checkpoint_config, update_checkpoint_config
from engine.serve.model_catalog import scan_checkpoints
from engine.serve.predictor import Predictor
from engine.train.finetune import INHERITED, base_train_config, finetune, labelled
from tests.model_helpers import small_docs

CALIBRATION = {"slope": 0.5, "intercept": -0.25, "n_fitted": 10}


@pytest.fixture(scope="module")
def base(tiny_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny default model with a calibration, as every shipped model has one."""
    import shutil

    path = tmp_path_factory.mktemp("base") / "tiny"
    shutil.copytree(tiny_models_dir / "tiny", path)
    update_checkpoint_config(path, calibration=CALIBRATION)
    return path


def test_documents_without_labels_are_refused_with_the_source_named(redocred_docs) -> None:
    docs = [replace(d, facts=None) for d in small_docs(redocred_docs, 2)]
    with pytest.raises(InputFileError, match=r"dataset 'empty' has no labels to fine-tune on: 0 of 2 document"):
        labelled(docs, "dataset 'empty'")
    no_triples = [replace(d, facts=()) for d in small_docs(redocred_docs, 2)]
    with pytest.raises(InputFileError, match="no labels to fine-tune on"):
        labelled(no_triples, "x.json")
    assert labelled([*docs, *small_docs(redocred_docs, 1)], "x") == small_docs(redocred_docs, 1)


def test_a_fine_tuned_checkpoint_has_its_lineage_and_loads_and_scores_like_any_other(base, redocred_docs,
                                                                                     tmp_path) -> None:
    docs = small_docs(redocred_docs, 2)
    models = tmp_path / "models"
    config = base_train_config(base, epochs=2, batch_size=1)
    result = finetune(base, [*docs, replace(docs[0], title="unlabelled", facts=None)], models / "tuned", config,
                      lineage={"dataset": "reviewed", "decisions": 7})
    saved = read_checkpoint_config(models / "tuned")
    lineage = saved["lineage"]
    assert lineage == result.lineage
    assert (lineage["base_model"], lineage["dataset"], lineage["decisions"], lineage["documents"]) == \
        ("tiny", "reviewed", 7, 2)
    assert lineage["labels"] == sum(len(d.facts) for d in docs) and lineage["epochs"] == 2
    assert lineage["base_checkpoint_id"] == read_checkpoint_config(base)["checkpoint_id"]
    assert lineage["fine_tuned_at"].endswith("+00:00")
    assert saved["calibration"] == CALIBRATION and lineage["calibration"] == INHERITED
    assert saved["method"] == read_checkpoint_config(base)["method"]
    assert not (models / "tuned" / "last").exists()  # the run finished: no resume state left
    (found,) = scan_checkpoints(models).found  # the catalogue lists it like a shipped model
    assert found.name == "tuned"
    tuned, original = Predictor.from_checkpoint(found.path, "cpu"), Predictor.from_checkpoint(base, "cpu")
    new, old = tuned.predict(docs), original.predict(docs)
    assert [s.logits.shape for s in new] == [s.logits.shape for s in old]
    assert any((a.logits != b.logits).any() for a, b in zip(new, old))  # training moved the weights
    again = Predictor.from_checkpoint(found.path, "cpu").predict(docs)  # reload: the same scores
    assert all((a.logits == b.logits).all() for a, b in zip(new, again))


def test_the_cli_recipe_fine_tunes_an_exported_file(base, redocred_docs, tmp_path, capsys) -> None:
    docs = small_docs(redocred_docs, 2)
    exported = tmp_path / "exported.json"
    exported.write_text(json.dumps([document_to_json(d) for d in docs]), encoding="utf-8")
    out = tmp_path / "tuned"
    assert engine_main(["--quiet", "train", "--init-from", str(base), "--train", str(exported), "--output", str(out),
                        "--epochs", "1", "--batch-size", "2"]) == 0
    saved = read_checkpoint_config(out)
    assert saved["lineage"]["train"] == str(exported) and saved["lineage"]["base_model"] == "tiny"
    assert saved["train_config"]["epochs"] == 1 and saved["train_config"]["init_from"] == str(base)
    unlabelled = tmp_path / "raw.json"
    unlabelled.write_text(json.dumps([{k: v for k, v in document_to_json(d).items() if k != "labels"}
                                      for d in docs]), encoding="utf-8")
    assert engine_main(["--quiet", "train", "--init-from", str(base), "--train", str(unlabelled), "--output",
                        str(tmp_path / "no")]) == 2
    assert f"{unlabelled} has no labels to fine-tune on" in capsys.readouterr().err
    assert engine_main(["--quiet", "train", "--train", str(exported), "--output", str(tmp_path / "none")]) == 2
    assert "--init-from CHECKPOINT alone to fine-tune" in capsys.readouterr().err


def test_fine_tuning_starts_from_the_base_models_own_settings(base, tmp_path) -> None:
    import shutil

    base = Path(shutil.copytree(base, tmp_path / "base"))
    old = {k: v for k, v in TrainConfig().to_json().items() if k != "lr_classifier"}  # saved before the rename
    update_checkpoint_config(base, train_config={**old, "lr_head": 3e-5, "batch_size": 2, "epochs": 30})
    config = base_train_config(base, epochs=1)
    assert (config.lr_classifier, config.batch_size, config.epochs) == (3e-5, 2, 1)


def test_kept_predictions_add_the_models_new_triples_the_review_did_not_reject() -> None:
    """What a fine-tune on a partly reviewed dataset trains on besides its labels (the first run without it lost
    12-16 held-out F1): the base model's predictions, less the rejected triples and those labelled already."""
    from engine.data.documents import Document, Entity, Fact, Mention
    from engine.train.finetune import keep_predictions

    doc = Document("d", (("A", "B", "C", "."),), tuple(Entity((Mention(n, 0, i, i + 1, "LOC"),))
                                                       for i, n in enumerate("ABC")), (Fact(0, 1, "P17", (0,)),))
    predicted = [(0, 1, "P17"), (1, 0, "P27"), (0, 2, "P131"), (0, 2, "P131")]
    (kept,), added = keep_predictions([doc], [predicted], [{(1, 0, "P27")}])
    assert added == 1 and kept.facts == (Fact(0, 1, "P17", (0,)), Fact(0, 2, "P131"))
    (same,), none = keep_predictions([doc], [[(0, 1, "P17")]], [set()])
    assert none == 0 and same is doc
