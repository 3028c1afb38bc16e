"""ATLOP end to end on a tiny encoder: the loss falls, predictions equal gold, save -> load is exact."""
from engine.serve.predictor import Predictor
from tests.model_helpers import assert_reload_identical, gold_triples, overfit, predicted_triples, small_docs


def test_atlop_overfits_two_documents_and_reloads(redocred_docs, tiny_encoder_dir, tmp_path):
    docs = small_docs(redocred_docs)
    loaded, losses = overfit("atlop", tiny_encoder_dir, docs, epochs=80, lr=3e-3,
                             options={"emb_size": 64, "block_size": 8})
    assert sum(losses[-3:]) / 3 < 0.2 * sum(losses[:3]) / 3
    scores = Predictor(loaded, "cpu").predict(docs)
    for doc, s in zip(docs, scores):
        assert predicted_triples(s) == gold_triples(doc)
    assert_reload_identical(loaded, tmp_path, docs)
