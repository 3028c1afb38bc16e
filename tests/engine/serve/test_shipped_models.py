"""The models in assets/models load offline, score the shipped samples, carry their method's extras, and
stay within the 100 MB budget (the project's limit for all shipped weights), one per registered method family;
DEFAULT names one of them."""
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
    total = sum(f.stat().st_size for p in SHIPPED for f in p.iterdir())
    assert total <= 100e6, f"shipped weights take {total / 1e6:.1f} MB"


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
