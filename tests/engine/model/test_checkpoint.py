"""Checkpoints: safetensors + config.json, and mismatches that say what differs."""
import json

import pytest
import torch

from engine.config import EncoderConfig
from engine.data.schema import RelationSchema, default_schema
from engine.errors import CheckpointError
from engine.model.checkpoint import build_model, load_checkpoint, read_checkpoint_config, save_checkpoint
from engine.model.methods import get_method


@pytest.fixture(scope="module")
def saved(tiny_encoder_dir, tmp_path_factory):
    torch.manual_seed(0)
    spec = get_method("atlop")
    loaded = build_model("atlop", spec.config_class(emb_size=32, block_size=8),
                         EncoderConfig(name=str(tiny_encoder_dir)),
                         default_schema())
    path = save_checkpoint(loaded, tmp_path_factory.mktemp("ckpt") / "m", metrics={"dev": {"f1": 0.5}}, data_hash="abc",
                           save_dtype="float16")
    return loaded, path


def test_directory_holds_config_and_safetensors_only(saved):
    _, path = saved
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]
    config = read_checkpoint_config(path)
    assert config["method"] == "atlop.v1" and config["data_hash"] == "abc" and config["metrics"]["dev"]["f1"] == 0.5
    assert config["schema"]["relation_ids"][0] == "P6" and config["encoder"]["hidden_size"] == 32
    # frozen word embeddings are shared with the installed encoder, not stored
    from safetensors.torch import load_file

    keys = load_file(str(path / "model.safetensors"))
    assert not any("word_embeddings" in k for k in keys)
    assert all(v.dtype in (torch.float16, torch.int64) for v in keys.values())


def test_reload_gives_same_weights(saved):
    loaded, path = saved
    again = load_checkpoint(path)
    for (k, a), (_, b) in zip(loaded.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.allclose(a.float(), b.float(), atol=1e-2), k  # fp16 storage


def test_schema_mismatch_names_relations(saved):
    _, path = saved
    with pytest.raises(CheckpointError, match="schema differs.*P1000"):
        load_checkpoint(path, expect_schema=RelationSchema(("P17", "P1000")))


def test_encoder_mismatch_says_so(saved, tmp_path):
    from transformers import AutoTokenizer, BertConfig, BertModel

    _, path = saved
    other = tmp_path / "other_encoder"
    tok = AutoTokenizer.from_pretrained(str(read_checkpoint_config(path)["encoder"]["name"]))
    torch.manual_seed(123)
    BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(str(other))
    tok.save_pretrained(str(other))
    with pytest.raises(CheckpointError, match="word embeddings"):
        load_checkpoint(path, encoder_name=str(other))
    wider = tmp_path / "wider_encoder"
    BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=48, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(str(wider))
    tok.save_pretrained(str(wider))
    with pytest.raises(CheckpointError, match="hidden size 32"):
        load_checkpoint(path, encoder_name=str(wider))


def test_version_mismatch_and_missing_files(saved, tmp_path):
    _, path = saved
    broken = tmp_path / "old"
    broken.mkdir()
    (broken / "model.safetensors").write_bytes((path / "model.safetensors").read_bytes())
    config = json.loads((path / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "format": 99}))
    with pytest.raises(CheckpointError, match="format 99"):
        load_checkpoint(broken)
    with pytest.raises(CheckpointError, match="needs config.json"):
        load_checkpoint(tmp_path / "nowhere")


def test_int8_codec_bounds_the_error_and_keeps_small_and_integer_tensors():
    from engine.model.weight_codec import SCALE_SUFFIX, decode_state, encode_state

    torch.manual_seed(0)
    big = torch.randn(97, 1024)
    big[3, 5] = 40.0  # an outlier only spoils the scale of its own group of 128
    odd = torch.randn(300, 300)  # width not a multiple of 128: one scale per row
    state = {"big": big, "odd": odd, "bias": torch.randn(97), "ids": torch.arange(4)}
    stored = encode_state(state, "int8")
    assert stored["big"].dtype == torch.int8 and stored["big" + SCALE_SUFFIX].shape == (97, 8)
    assert stored["odd" + SCALE_SUFFIX].shape == (300, 1)
    assert stored["bias"].dtype == torch.float16 and torch.equal(stored["ids"], state["ids"])
    back = decode_state(stored)
    assert set(back) == set(state)
    for key in ("big", "odd"):
        groups = state[key].reshape(state[key].shape[0], -1, 128 if key == "big" else 300)
        bound = groups.abs().amax(-1, keepdim=True) / 127 / 2 * 1.01  # half a step of each group
        err = (back[key] - state[key]).reshape(groups.shape).abs()
        assert (err <= bound).all(), key
    row3 = (back["big"][3, 128:] - big[3, 128:]).abs().max()
    assert row3 < 0.05  # the outlier's row is fine outside its group


def test_compress_rewrites_a_checkpoint_as_int8(saved, tmp_path):
    from engine.cli.main import main

    loaded, path = saved
    assert main(["compress", "--checkpoint", str(path), "--output", str(tmp_path / "q")]) == 0
    config = read_checkpoint_config(tmp_path / "q")
    assert config["save_dtype"] == "int8" and config["metrics"]["dev"]["f1"] == 0.5 and config["data_hash"] == "abc"
    again = load_checkpoint(tmp_path / "q")
    for (k, a), (_, b) in zip(loaded.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.allclose(a.float(), b.float(), atol=2e-2), k
    assert main(["compress", "--checkpoint", str(path), "--output", str(path)]) != 0  # never overwrites its input


def test_warm_start_copies_encoder_and_shared_head_parts(saved, tiny_encoder_dir):
    from engine.model.checkpoint import warm_start

    _, path = saved
    source = load_checkpoint(path)
    ncrl = build_model("ncrl", get_method("ncrl").config_class(emb_size=32, block_size=8),
                       EncoderConfig(name=str(tiny_encoder_dir)), default_schema())
    copied = warm_start(ncrl, path)
    src, own = source.model.state_dict(), ncrl.model.state_dict()
    assert any(k.startswith("encoder.") for k in copied)
    assert "classifier.classifier.bilinear.classifier.weight" in copied
    for k in copied:
        assert torch.equal(own[k], src[k]), k
    paee = build_model("paee", None, EncoderConfig(name=str(tiny_encoder_dir)), default_schema())
    partial = warm_start(paee, path)  # another head: only the encoder (and same-shaped parts) come across
    assert all(k in paee.model.state_dict() for k in partial) and len(partial) < len(paee.model.state_dict())
    other_schema = build_model("atlop", get_method("atlop").config_class(emb_size=32, block_size=8),
                               EncoderConfig(name=str(tiny_encoder_dir)), RelationSchema(("P1",), {"P1": "x"}))
    with pytest.raises(CheckpointError, match="schema"):
        warm_start(other_schema, path)


def test_a_warm_start_keeps_frozen_word_embeddings_the_installed_encoders(tiny_encoder_dir, tmp_path):
    """A source that trained its word embeddings must not overwrite the frozen ones of the new model: they are
    never saved, and loading checks them against the installed encoder, so the new checkpoint would not load."""
    from engine.model.checkpoint import warm_start

    config = get_method("atlop").config_class(emb_size=32, block_size=8)
    source = build_model("atlop", config, EncoderConfig(name=str(tiny_encoder_dir), freeze_word_embeddings=False),
                         default_schema())
    with torch.no_grad():
        source.model.encoder.model.get_input_embeddings().weight.add_(0.5)  # as if trained
    save_checkpoint(source, tmp_path / "source")
    target = build_model("atlop", config, EncoderConfig(name=str(tiny_encoder_dir)), default_schema())
    installed = target.model.encoder.model.get_input_embeddings().weight.clone()
    copied = warm_start(target, tmp_path / "source")
    assert not any("word_embeddings" in k for k in copied)
    assert torch.equal(target.model.encoder.model.get_input_embeddings().weight, installed)
    save_checkpoint(target, tmp_path / "target")
    load_checkpoint(tmp_path / "target")  # the fingerprint of the installed embeddings matches


def test_checkpoint_files_get_one_mode_respecting_the_umask(tiny_models_dir, tmp_path) -> None:
    """Issue 27: model.safetensors was written 0o600 (safetensors' own mode) beside a 0o644 config.json."""
    import os
    import stat

    from engine.model.checkpoint import load_checkpoint, save_checkpoint

    loaded = load_checkpoint(tiny_models_dir / "tiny")
    for mask in (0o022, 0o077):
        old = os.umask(mask)
        try:
            out = save_checkpoint(loaded, tmp_path / f"m{mask:o}")
        finally:
            os.umask(old)
        modes = {name: stat.S_IMODE((out / name).stat().st_mode) for name in ("config.json", "model.safetensors")}
        assert modes == {"config.json": 0o666 & ~mask, "model.safetensors": 0o666 & ~mask}, modes


def test_warm_start_gives_p3m_the_whole_atlop_pair_head(saved, tiny_encoder_dir):
    """P3M's head holds ATLOP's extractor and grouped bilinear under ATLOP's names, so a warm start from ATLOP
    copies every head tensor: the pair extractor, and the proxies c_0..c_K as ATLOP's classifier rows (its bias
    has no place in the cosine scores of Eq. 1). Under other names the head started fresh, 5 of its tensors random."""
    from engine.model.checkpoint import warm_start

    _, path = saved
    source = load_checkpoint(path).model.state_dict()
    p3m = build_model("p3m", get_method("p3m").config_class(emb_size=32, block_size=8),
                      EncoderConfig(name=str(tiny_encoder_dir)), default_schema())
    copied = warm_start(p3m, path)
    own = p3m.model.state_dict()
    head = sorted(k for k in own if not k.startswith("encoder."))
    assert head and [k for k in head if k not in copied] == []
    for k in head:
        assert torch.equal(own[k], source[k]), k
    proxies = p3m.model.classifier.classifier.bilinear.proxies  # unit rows of ATLOP's weight
    weight = source["classifier.classifier.bilinear.classifier.weight"].float()
    assert torch.allclose(proxies, weight / weight.norm(dim=-1, keepdim=True), atol=1e-6)


def test_p3m_checkpoint_saved_under_the_old_head_name_still_loads(tiny_encoder_dir, tmp_path):
    """P3M heads saved as `metric` (before they took ATLOP's names) load into today's `classifier`, weights intact."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    loaded = build_model("p3m", get_method("p3m").config_class(emb_size=32, block_size=8),
                         EncoderConfig(name=str(tiny_encoder_dir)), default_schema())
    path = save_checkpoint(loaded, tmp_path / "p3m")
    weights = path / "model.safetensors"
    with safe_open(str(weights), "pt") as f:
        metadata = f.metadata()
    old = {k.replace("classifier.classifier.", "classifier.metric."): v for k, v in load_file(str(weights)).items()}
    assert any(k.startswith("classifier.metric.") for k in old)
    save_file(old, str(weights), metadata=metadata)
    again = load_checkpoint(path).model.state_dict()
    for k, v in loaded.model.state_dict().items():
        assert torch.equal(again[k], v), k
