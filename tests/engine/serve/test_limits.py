"""Documents over the entity or token limit are refused by name before anything is scored, and the limits
come from the settings (DOCRE_MAX_ENTITIES, DOCRE_MAX_TOKENS)."""
from __future__ import annotations

import time

import pytest

from engine.errors import ConfigError, DocumentTooLargeError
from engine.settings import DEFAULT_MAX_ENTITIES, get_settings
from tests.model_helpers import synthetic_document


@pytest.fixture(scope="module")
def predictor(tiny_encoder_dir):
    import torch

    from engine.config import EncoderConfig
    from engine.data.schema import default_schema
    from engine.model.checkpoint import build_model
    from engine.model.methods import get_method
    from engine.serve.predictor import Predictor

    torch.manual_seed(0)
    config = get_method("atlop").config_class(emb_size=32, block_size=8)
    return Predictor(build_model("atlop", config, EncoderConfig(name=str(tiny_encoder_dir)), default_schema()), "cpu")


@pytest.fixture(scope="module")
def huge():
    doc = synthetic_document(1800, "a very long text")
    assert doc.num_entities == 1800
    return doc


def test_an_1800_entity_document_is_refused_by_name_and_limit(predictor, huge, monkeypatch):
    assert DEFAULT_MAX_ENTITIES < 1800 and predictor.max_entities == DEFAULT_MAX_ENTITIES
    featurized = []
    monkeypatch.setattr(predictor, "featurize", lambda docs: featurized.append(docs))
    small = synthetic_document(6, "small")
    start = time.perf_counter()
    with pytest.raises(DocumentTooLargeError) as err:
        predictor.predict([small, huge])
    message = str(err.value)
    assert "document 1 ('a very long text')" in message and "1,800 entities" in message
    assert f"limit of {DEFAULT_MAX_ENTITIES:,}" in message and "DOCRE_MAX_ENTITIES" in message
    assert not featurized and time.perf_counter() - start < 1.0  # refused before tokenising or scoring anything


def test_the_limits_come_from_the_environment(predictor, huge, monkeypatch, tiny_encoder_dir):
    from engine.serve.predictor import Predictor

    monkeypatch.setenv("DOCRE_MAX_ENTITIES", "2000")
    monkeypatch.setenv("DOCRE_MAX_TOKENS", "40")
    assert get_settings().max_entities == 2000
    raised = Predictor(predictor.loaded, "cpu")
    raised.check_limits([huge])  # admitted now
    with pytest.raises(DocumentTooLargeError,
                       match=r"document 0 \('small'\) has \d+ word pieces.*limit of 40.*DOCRE_MAX_TOKENS"):
        raised.predict([synthetic_document(20, "small")])
    monkeypatch.setenv("DOCRE_MAX_ENTITIES", "many")
    with pytest.raises(ConfigError, match="DOCRE_MAX_ENTITIES must be a whole number"):
        get_settings()


def test_documents_under_the_limits_are_scored(predictor):
    scores = predictor.predict([synthetic_document(30, "fine")])
    assert scores[0].logits.shape == (30 * 29, 97)
