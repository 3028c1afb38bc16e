"""The model picker's labels: a trained model's dev F1, and for a model retrained on every document
(engine.model.twin) its twin's held-out F1, said to be the twin's, never a dev F1 of its own."""
from __future__ import annotations

from app.services.resources import ModelChoice


def test_the_model_picker_shows_the_twins_held_out_f1_as_the_twins():
    lineage = {"twin": "../../twins/paee", "training_documents": 500, "twin_training_documents": 400}
    choice = ModelChoice("paee", "/m/paee", "paee.v1", 0.5618, (), lineage)
    assert choice.label == "paee (paee.v1, held-out F1 56.2 from its 400-document twin, trained on all 500 documents)"
    assert "dev F1" not in choice.label
    assert ModelChoice("atlop", "/m/atlop", "atlop.v1", 0.55, ()).label == "atlop (atlop.v1, dev F1 55.0)"
