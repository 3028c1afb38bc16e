"""Inference precision: explicit choice, DOCRE_PRECISION, `auto` by hardware, and bf16 scores close to fp32."""
import numpy as np
import pytest
import torch
from tests.model_helpers import overfit, small_docs

from engine import precision
from engine.errors import DocreError
from engine.predictor import Predictor


def test_explicit_choice_wins_over_environment(monkeypatch):
    monkeypatch.setenv("DOCRE_PRECISION", "bfloat16")
    assert precision.resolve_precision("float32", torch.device("cpu")) == "float32"
    assert precision.resolve_precision(None, torch.device("cpu")) == "bfloat16"


@pytest.mark.parametrize("native", [True, False])
def test_auto_uses_bf16_only_where_the_cpu_has_it(monkeypatch, native):
    monkeypatch.setenv("DOCRE_PRECISION", "auto")
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native)
    assert precision.resolve_precision(None, torch.device("cpu")) == ("bfloat16" if native else "float32")
    assert precision.resolve_precision(None, torch.device("cuda")) == "bfloat16"


def test_unknown_precision_is_named(monkeypatch):
    with pytest.raises(DocreError, match="'fp8'.*auto, float32, bfloat16"):
        precision.resolve_precision("fp8", torch.device("cpu"))


def test_bf16_scores_stay_close_to_fp32(redocred_docs, tiny_encoder_dir):
    docs = small_docs(redocred_docs)
    loaded, _ = overfit("atlop", tiny_encoder_dir, docs, epochs=30, lr=3e-3, options={"emb_size": 64, "block_size": 8})
    full = Predictor(loaded, "cpu", precision="float32").predict(docs)
    half = Predictor(loaded, "cpu", precision="bfloat16").predict(docs)
    for a, b in zip(full, half):
        assert a.logits.dtype == b.logits.dtype == np.float32
        scale = np.abs(a.logits).max()
        assert np.abs(a.logits - b.logits).max() < 0.05 * scale  # bf16 keeps 8 bits of mantissa
        assert not np.array_equal(a.logits, b.logits)  # the bf16 path really ran
