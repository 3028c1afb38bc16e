"""Inference precision: explicit choice, DOCRE_PRECISION, `auto` by hardware, and bf16 and int8 scores close to fp32."""
import numpy as np
import pytest
import torch

from engine.errors import DocreError
from engine.serve import numeric_precision as precision
from engine.serve.predictor import Predictor
from tests.model_helpers import overfit, small_docs


def test_explicit_choice_wins_over_environment(monkeypatch):
    monkeypatch.setenv("DOCRE_PRECISION", "bfloat16")
    assert precision.resolve_precision("float32", torch.device("cpu")) == "float32"
    assert precision.resolve_precision(None, torch.device("cpu")) == "bfloat16"


@pytest.mark.parametrize(("bf16", "int8", "expected"), [(True, True, "int8"), (True, False, "bfloat16"),
                                                        (False, True, "float32"), (False, False, "float32")])
def test_auto_picks_what_the_cpu_runs_natively(monkeypatch, bf16, int8, expected):
    monkeypatch.setenv("DOCRE_PRECISION", "auto")
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: bf16)
    monkeypatch.setattr(precision, "cpu_has_fast_int8", lambda: int8)
    assert precision.resolve_precision(None, torch.device("cpu")) == expected
    assert precision.resolve_precision(None, torch.device("cuda")) == "bfloat16"


@pytest.mark.parametrize(("flags", "bf16", "int8"), [
    ("fpu avx2 fma", False, False),  # the AVX2-only EPYC: fp32 is native
    ("avx2 avx512f avx512_vnni avx512_bf16", True, True),
    ("avx2 amx_bf16 amx_tile amx_int8", True, True),
    ("avx512f avx512_vnni", False, True)])
def test_native_precision_is_read_from_the_cpu_flags_line(monkeypatch, flags, bf16, int8):
    """Only whole flag names on the flags line count (not a substring of another field)."""
    cpuinfo = f"processor\t: 0\nmodel name\t: avx512_bf16 lookalike\nflags\t\t: {flags}\nbugs\t\t: amx_int8x\n"
    monkeypatch.setattr(precision, "_cpu_flags", lambda: cpuinfo)
    assert (precision.cpu_has_native_bf16(), precision.cpu_has_fast_int8()) == (bf16, int8)
    assert "avx2" in precision.cpu_flag_names() or "avx2" not in flags


def test_int8_is_refused_off_the_cpu():
    with pytest.raises(DocreError, match="int8 is for CPU"):
        precision.resolve_precision("int8", torch.device("cuda"))


def test_unknown_precision_is_named(monkeypatch):
    with pytest.raises(DocreError, match="'fp8'.*auto, float32, bfloat16, int8"):
        precision.resolve_precision("fp8", torch.device("cpu"))


@pytest.fixture(scope="module")
def trained(redocred_docs, tiny_encoder_dir):
    """(loaded model, documents): a small atlop fitted to two documents, so its logits are far from 0."""
    docs = small_docs(redocred_docs)
    loaded, _ = overfit("atlop", tiny_encoder_dir, docs, epochs=30, lr=3e-3, options={"emb_size": 64, "block_size": 8})
    return loaded, docs


def test_bf16_scores_stay_close_to_fp32(trained):
    loaded, docs = trained
    full = Predictor(loaded, "cpu", precision="float32").predict(docs)
    half = Predictor(loaded, "cpu", precision="bfloat16").predict(docs)
    for a, b in zip(full, half):
        assert a.logits.dtype == b.logits.dtype == np.float32
        scale = np.abs(a.logits).max()
        assert np.abs(a.logits - b.logits).max() < 0.05 * scale  # bf16 keeps 8 bits of mantissa
        assert not np.array_equal(a.logits, b.logits)  # the bf16 path really ran


def test_int8_classifier_stays_close_to_float_and_follows_weight_changes():
    from engine.model.grouped_bilinear import GroupedBilinear
    from engine.model.int8_matmul import int8_classifier

    torch.manual_seed(0)
    bilinear = GroupedBilinear(emb_size=64, block_size=8, num_classes=7).eval()
    z_head, z_tail = torch.tanh(3 * torch.randn(300, 64)), torch.tanh(3 * torch.randn(300, 64))
    with torch.no_grad():
        exact = bilinear(z_head, z_tail).logits
        with int8_classifier():
            quantised = bilinear(z_head, z_tail).logits
            empty = bilinear(z_head[:0], z_tail[:0]).logits
            bilinear.classifier.weight.mul_(2.0)  # e.g. a checkpoint loaded into the module: requantise
            doubled = bilinear(z_head, z_tail).logits
    scale = exact.abs().max()
    assert not torch.equal(quantised, exact)  # the int8 path really ran
    assert (quantised - exact).abs().max() < 0.03 * scale  # 7-bit inputs and weights, truncated inputs
    assert empty.shape == (0, 7)
    bias = bilinear.classifier.bias
    assert torch.allclose(doubled - bias, 2 * (quantised - bias), atol=0.03 * scale)


def test_int8_predictions_match_fp32(trained):
    loaded, docs = trained
    full = Predictor(loaded, "cpu", precision="float32").predict(docs)
    half = Predictor(loaded, "cpu", precision="bfloat16").predict(docs)
    quantised = Predictor(loaded, "cpu", precision="int8").predict(docs)
    agree = total = 0
    for a, h, b in zip(full, half, quantised):
        assert np.abs(a.logits - b.logits).max() < 0.05 * np.abs(a.logits).max()
        assert not np.array_equal(h.logits, b.logits)  # the int8 classifier ran, not only bf16
        agree += int((a.decoded == b.decoded).sum())
        total += a.decoded.size
    assert agree / total > 0.99
