"""The transformers-free BERT used at inference: same parameters, same token ids and same states as
transformers' BertModel and fast tokenizer; anything it does not cover loads through transformers; and a
shipped model predicts without importing transformers or torch._dynamo (the point of it: cold start)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.model.encoder import load_encoder, load_hf
from engine.model.features import Tokenizer
from engine.model.lean_bert import LeanBertModel, LeanTokenizer, load_lean
from engine.serve.predictor import Predictor

ROOT = Path(__file__).resolve().parents[3]
ODD_WORDS = ["naïve", "Ångström", "日本語", "", " ", "e-mail", "\u200b", "x\u0301", "ﬁne", "😀", "[CLS]", "*", "3.5"]


def _copy(src: Path, dst: Path, **config_changes) -> Path:
    shutil.copytree(src, dst)
    config = json.loads((dst / "config.json").read_text(encoding="utf-8"))
    (dst / "config.json").write_text(json.dumps({**config, **config_changes}), encoding="utf-8")
    return dst


def test_states_equal_transformers_with_and_without_padding(tiny_encoder_dir):
    hf_tok, hf_model = load_hf(str(tiny_encoder_dir))
    lean_tok, lean_model = load_lean(tiny_encoder_dir, pretrained_weights=True)
    assert isinstance(lean_model, LeanBertModel) and set(lean_model.state_dict()) == set(hf_model.state_dict())
    torch.manual_seed(0)
    ids = torch.randint(1000, 30000, (3, 90))
    mask = torch.ones(3, 90, dtype=torch.long)
    mask[1, 60:] = 0
    mask[2, 7:] = 0
    with torch.no_grad():
        for attention_mask in (mask, torch.ones_like(mask)):
            ours = lean_model(input_ids=ids, attention_mask=attention_mask, output_hidden_states=True)
            theirs = hf_model(input_ids=ids, attention_mask=attention_mask, output_hidden_states=True)
            assert len(ours.hidden_states) == len(theirs.hidden_states)
            valid = attention_mask.bool()
            for a, b in zip(ours.hidden_states, theirs.hidden_states):
                torch.testing.assert_close(a[valid], b[valid], rtol=1e-5, atol=1e-6)


def test_token_ids_equal_the_fast_tokenizer(tiny_encoder_dir, redocred_docs):
    """On real documents and odd strings; tokenizer.json's stored truncation (128) and padding are off."""
    hf_tok, _ = load_hf(str(tiny_encoder_dir))
    lean_tok = LeanTokenizer.read(tiny_encoder_dir)
    long_word = ["word"] * 300
    for words in [ODD_WORDS, [" ".join(long_word)]] + [[w for s in d.sents for w in s] for d in redocred_docs[:20]]:
        assert lean_tok(words)["input_ids"] == hf_tok(words, add_special_tokens=False)["input_ids"]
    ours, theirs = Tokenizer(lean_tok), Tokenizer(hf_tok)
    assert (ours.marker_id, ours.cls_id, ours.sep_id, ours.pad_id) == (theirs.marker_id, theirs.cls_id,
                                                                       theirs.sep_id, theirs.pad_id)


@pytest.mark.parametrize("change", [{"model_type": "roberta"}, {"position_embedding_type": "relative_key"},
                                    {"hidden_act": "gelu_new"}, {"is_decoder": True}])
def test_what_it_does_not_cover_loads_through_transformers(tiny_encoder_dir, tmp_path, change):
    path = _copy(tiny_encoder_dir, tmp_path / "enc", **change)
    assert load_lean(path, pretrained_weights=True) is None
    _, model = load_encoder(str(path), lean=True)
    assert not isinstance(model, LeanBertModel)


def test_a_tokenizer_it_cannot_reproduce_loads_through_transformers(tiny_encoder_dir, tmp_path):
    """A tokenizer_config.json that disagrees with tokenizer.json's normaliser, or no tokenizer.json at all."""
    assert LeanTokenizer.read(tiny_encoder_dir) is not None
    disagreeing = _copy(tiny_encoder_dir, tmp_path / "disagreeing")
    settings = json.loads((disagreeing / "tokenizer_config.json").read_text(encoding="utf-8"))
    (disagreeing / "tokenizer_config.json").write_text(json.dumps({**settings, "do_lower_case": False}),
                                                       encoding="utf-8")
    no_json = _copy(tiny_encoder_dir, tmp_path / "no_json")
    (no_json / "tokenizer.json").unlink()
    for path in (disagreeing, no_json):
        assert LeanTokenizer.read(path) is None
        assert not isinstance(load_encoder(str(path), lean=True)[1], LeanBertModel)


def test_training_and_the_switch_keep_transformers(tiny_encoder_dir, monkeypatch):
    assert not isinstance(load_encoder(str(tiny_encoder_dir))[1], LeanBertModel)  # lean is asked for inference only
    assert isinstance(load_encoder(str(tiny_encoder_dir), lean=True)[1], LeanBertModel)
    monkeypatch.setenv("DOCRE_LEAN_ENCODER", "0")
    assert not isinstance(load_encoder(str(tiny_encoder_dir), lean=True)[1], LeanBertModel)


def test_a_checkpoint_predicts_the_same_either_way(tiny_models_dir, redocred_docs, monkeypatch):
    docs = redocred_docs[:3]
    lean = Predictor.from_checkpoint(tiny_models_dir / "tiny", precision="float32")
    assert isinstance(lean.loaded.model.encoder.model, LeanBertModel)
    monkeypatch.setenv("DOCRE_LEAN_ENCODER", "0")
    plain = Predictor.from_checkpoint(tiny_models_dir / "tiny", precision="float32")
    assert not isinstance(plain.loaded.model.encoder.model, LeanBertModel)
    for a, b in zip(lean.predict(docs), plain.predict(docs)):
        np.testing.assert_allclose(a.logits, b.logits, rtol=1e-5, atol=1e-5)


def test_the_shipped_model_predicts_without_transformers_or_dynamo():
    """A fresh process loads the default model and scores a document; the heavy imports never happen."""
    code = ("import sys, json\n"
            "from engine.data.documents import read_documents\n"
            "from engine.serve.predictor import Predictor\n"
            "docs = read_documents(sys.argv[1]).documents[:1]\n"
            "scores = Predictor.from_checkpoint().predict(docs)\n"
            "print(json.dumps({'pairs': int(scores[0].logits.shape[0]), 'heavy': sorted(m for m in "
            "('transformers', 'torch._dynamo', 'scipy', 'sympy') if m in sys.modules)}))\n")
    sample = ROOT / "assets" / "samples" / "redocred_heldout_sample.json"
    out = subprocess.run([sys.executable, "-c", code, str(sample)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["pairs"] > 0 and result["heavy"] == []


def test_only_the_weights_a_checkpoint_omits_are_read(tiny_encoder_dir):
    from engine.errors import CheckpointError

    _, hf_model = load_hf(str(tiny_encoder_dir))
    name = "embeddings.word_embeddings.weight"
    _, model = load_lean(tiny_encoder_dir, pretrained_weights=True, only=frozenset({name}))
    assert not any(p.is_meta for p in model.parameters())  # the rest is allocated for the checkpoint to fill
    torch.testing.assert_close(model.state_dict()[name], hf_model.state_dict()[name], rtol=0, atol=0)
    with pytest.raises(CheckpointError, match="missing \\['encoder.layer.9.output.dense.weight'\\]"):
        load_lean(tiny_encoder_dir, pretrained_weights=True, only=frozenset({"encoder.layer.9.output.dense.weight"}))
