"""Inference in pair chunks (DocREModel.infer) gives what one whole forward gives, for every method, and the
chunk size follows the memory budget."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.config import EncoderConfig
from engine.data.schema import default_schema
from engine.model.checkpoint import build_model
from engine.model.features import collate
from engine.model.methods import get_method, list_methods

METHODS = [spec.name for spec in list_methods()]


def small_options(config: dict) -> dict:
    """The method's own defaults with every size shrunk for a CPU test, read from the option names (no per-method
    table): the classifier's emb_size/block_size, each *_dim, *_hidden and *_channels at most 16, attention heads
    that divide the tiny encoder's width, and a mention-pair cap some entity pairs exceed (so it is exercised)."""
    small = {**config}
    for key, value in config.items():
        if isinstance(value, bool) or not isinstance(value, int):
            continue
        if key == "emb_size":
            small[key] = 32
        elif key == "block_size":
            small[key] = 8
        elif key.endswith(("_dim", "_hidden", "_channels")):
            small[key] = min(value, 16)
        elif key.endswith("_heads"):
            small[key] = min(value, 2)
        elif key == "max_mention_pairs":
            small[key] = 3
    return small


@pytest.fixture(scope="module")
def three_docs(redocred_docs):
    small = [d for d in redocred_docs if 4 <= len(d.entities) <= 12]
    return small[:3]


def _model_and_batch(method: str, encoder_dir, docs):
    spec = get_method(method)
    config = spec.config_class.from_json(small_options(spec.config_class().to_json()))
    torch.manual_seed(0)
    loaded = build_model(method, config, EncoderConfig(name=str(encoder_dir)), default_schema())
    loaded.model.eval()
    feats = [loaded.tokenizer.featurize(d, loaded.schema) for d in docs]
    batch = collate(feats, loaded.tokenizer, max_window=64, overlap=16, num_classes=loaded.schema.num_classes,
                    with_labels=False)  # short windows: documents span several, as long ones do
    return loaded.model, batch


@pytest.mark.parametrize("method", METHODS)
def test_chunked_inference_equals_one_forward(method, tiny_encoder_dir, three_docs, monkeypatch):
    model, batch = _model_and_batch(method, tiny_encoder_dir, three_docs)
    with torch.inference_mode():
        whole = model(batch)
        whole_extras = model.classifier.collect_extras(whole, batch)
        # 37 pairs a chunk: chunks straddle document boundaries and end mid-document
        monkeypatch.setattr(model, "pair_chunk_size", lambda *args: 37)
        chunked = model.infer(batch, memory_budget=1)
        monkeypatch.setattr(model, "pair_chunk_size", lambda *args: 10 ** 9)
        single = model.infer(batch, memory_budget=1)  # one chunk: the whole batch
    assert batch.num_pairs > 3 * 37
    for out in (chunked, single):
        assert out.logits.shape == whole.logits.shape
        torch.testing.assert_close(out.logits, whole.logits, rtol=1e-4, atol=1e-5)
        assert torch.equal(model.classifier.decode(out), model.classifier.decode(whole))
        assert set(out.collected) == set(whole_extras)
        if "pair_potential" in whole_extras:
            np.testing.assert_allclose(out.collected["pair_potential"].values, whole_extras["pair_potential"].values,
                                       rtol=1e-4, atol=1e-6)
        if "mention_grids" in whole_extras:
            grids, whole_grids = out.collected["mention_grids"].grids, whole_extras["mention_grids"].grids
            assert len(grids) == len(whole_grids) == batch.num_pairs
            for a, b in zip(grids, whole_grids):
                np.testing.assert_allclose(a.key_probability, b.key_probability, rtol=1e-4, atol=1e-6)
                np.testing.assert_allclose(a.relation_probability, b.relation_probability, rtol=1e-4, atol=1e-6)


def test_chunk_size_follows_the_memory_budget(tiny_encoder_dir, three_docs):
    model, batch = _model_and_batch("atlop", tiny_encoder_dir, three_docs)
    with torch.inference_mode():
        entities = model.backbone.entities(model.encoder(batch), batch)
    small = model.pair_chunk_size(batch, entities, 2 ** 20)
    large = model.pair_chunk_size(batch, entities, 2 ** 24)
    assert 1 <= small < large and abs(large / small - 16) < 0.1
    assert model.pair_chunk_size(batch, entities, 1) == 1  # never zero pairs a chunk


def test_predictor_with_a_tiny_budget_scores_as_with_a_large_one(tiny_encoder_dir, three_docs, monkeypatch):
    """Pair chunks and the decoding in parts (OUTPUT_ROWS) change nothing in what the predictor returns."""
    from engine.serve import predictor as predictor_module
    from engine.serve.predictor import Predictor

    spec = get_method("paee")
    config = spec.config_class.from_json(small_options(spec.config_class().to_json()))
    torch.manual_seed(0)
    loaded = build_model("paee", config, EncoderConfig(name=str(tiny_encoder_dir)), default_schema())
    sizes = []
    original = loaded.model.pair_chunk_size
    loaded.model.pair_chunk_size = lambda *args: sizes.append(original(*args)) or sizes[-1]
    large = Predictor(loaded, "cpu", pair_memory_mb=1024).predict(three_docs)
    monkeypatch.setattr(predictor_module, "OUTPUT_ROWS", 7)
    tiny = Predictor(loaded, "cpu", pair_memory_mb=1).predict(three_docs)
    n_pairs = sum(d.num_entities * (d.num_entities - 1) for d in three_docs)
    assert sizes[0] >= n_pairs > 2 * sizes[-1]  # one chunk, then several
    for a, b in zip(large, tiny):
        np.testing.assert_allclose(a.logits, b.logits, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(a.extra("pair_values").values, b.extra("pair_values").values, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(a.probabilities, b.probabilities, rtol=1e-4, atol=1e-6)
        assert np.array_equal(a.decoded, b.decoded) and a.decoded.shape == (len(a.heads), 96)
