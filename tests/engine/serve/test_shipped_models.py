"""The models in assets/models load offline, score the shipped samples, carry their method's extras, and
stay within the project's 100 MB budget for shipped weights, one per registered method family, every directory
a model; DEFAULT names one of them; a model retrained on every document has its twin (restored from git history,
not shipped), trained on the same schedule."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data.documents import read_documents
from engine.model.checkpoint import read_checkpoint_config
from engine.serve.predictor import Predictor
from tests.paths import ROOT

MODELS = ROOT / "assets" / "models"
SHIPPED = sorted(p for p in MODELS.iterdir() if (p / "config.json").is_file())


def test_default_names_a_shipped_model_and_the_budget_holds():
    assert (MODELS / (MODELS / "DEFAULT").read_text().strip()) in SHIPPED
    assert [p.name for p in MODELS.iterdir() if p.is_dir() and p not in SHIPPED] == []  # no directory but models
    total = sum(f.stat().st_size for f in MODELS.rglob("*") if f.is_file())
    assert total <= 100e6, f"assets/models takes {total / 1e6:.1f} MB"


def test_a_model_retrained_on_every_document_names_a_twin_that_history_restores():
    """Its figures, calibration and decoding options are the twin's, and the twin trained on the same schedule
    on fewer documents (the held-out ones left out), so those figures stand for it."""
    from engine.model.twin import checkpoint_twin, schedule_differences

    retrained = [p for p in SHIPPED if checkpoint_twin(p) is not None]
    assert retrained, "the default is retrained on every document: its twin must be named"
    for model in retrained:
        config, twin = read_checkpoint_config(model), read_checkpoint_config(checkpoint_twin(model))
        assert schedule_differences(twin, config) == []
        assert config["lineage"]["training_documents"] > config["lineage"]["twin_training_documents"]
        assert config["data_hash"] != twin["data_hash"]
        for field in ("method_config", "calibration"):
            assert config[field] == twin[field], field
        assert config["metrics"]["dev"] == twin["metrics"]["dev"]


def test_every_registered_paper_ships_a_model():
    """A user can run each of the five papers (and the atlop baseline) without training anything."""
    from engine.model.methods import list_methods

    shipped = {read_checkpoint_config(p)["method"].split(".")[0] for p in SHIPPED}
    registered = {spec.name.split(".")[0] for spec in list_methods()}
    assert registered - shipped == set()


@pytest.mark.slow
@pytest.mark.parametrize("model", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_model_scores_the_samples(model):
    docs = read_documents(ROOT / "assets" / "samples" / "redocred_heldout_sample.json").documents[:2]
    scores = Predictor.from_checkpoint(model, "cpu").predict(docs)
    for doc, s in zip(docs, scores):
        n = len(doc.entities)
        assert s.logits.shape == (n * (n - 1), 97) and np.isfinite(s.logits).all()
        assert s.decoded.any()  # a trained model finds something in a labelled held-out document
    method = read_checkpoint_config(model)["method"]
    assert (scores[0].extra("pair_values") is not None) == (method == "paee.v1")
    assert (scores[0].extra("mention_grids") is not None) == (method == "kmgre.v1")
