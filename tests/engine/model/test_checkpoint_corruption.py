"""A tampered or corrupt checkpoint is a CheckpointError naming the file and the field, found before anything is
built: no traceback from deep inside, no attempt to allocate what a tampered size asks for. An allocation guard
fails the test on any single tensor over 256 MB (off the meta device), so a regression cannot take the
machine's memory to find out."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Callable

import pytest
import torch
from torch.overrides import TorchFunctionMode

from engine.config import EncoderConfig
from engine.data.schema import default_schema
from engine.errors import CheckpointError
from engine.model.checkpoint import build_model, check_checkpoint, load_checkpoint, save_checkpoint
from engine.model.methods import get_method

LIMIT_BYTES = 256 * 2 ** 20
FACTORIES = {torch.empty, torch.zeros, torch.ones, torch.full, torch.rand, torch.randn, torch.empty_strided}


class AllocationGuard(TorchFunctionMode):
    """Fails any tensor factory call asking for more than LIMIT_BYTES (meta tensors are free)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FACTORIES and str(kwargs.get("device") or "cpu") != "meta":
            shape = args[0] if args and isinstance(args[0], (tuple, list, torch.Size)) else [
                a for a in args if isinstance(a, int)]
            size = math.prod(int(d) for d in shape) * 4
            if size > LIMIT_BYTES:
                raise AssertionError(f"tried to allocate {size / 1e9:,.1f} GB for shape {tuple(shape)}")
        return func(*args, **kwargs)


@pytest.fixture(scope="module")
def good(tiny_encoder_dir, tmp_path_factory) -> Path:
    torch.manual_seed(0)
    config = get_method("atlop").config_class(emb_size=32, block_size=8)
    loaded = build_model("atlop", config, EncoderConfig(name=str(tiny_encoder_dir)), default_schema())
    return save_checkpoint(loaded, tmp_path_factory.mktemp("good") / "m", save_dtype="float16")


def edit_config(change: Callable[[dict], object], *, replace: bool = False) -> Callable[[Path], None]:
    """Change config.json in place (or, with replace, write what change returns instead)."""
    def apply(directory: Path) -> None:
        path = directory / "config.json"
        config = json.loads(path.read_text())
        result = change(config)
        path.write_text(json.dumps(result if replace else config))
    return apply


def write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def apply(directory: Path) -> None:
        (directory / name).write_bytes(data.encode() if isinstance(data, str) else data)
    return apply


def truncate_weights(directory: Path) -> None:
    path = directory / "model.safetensors"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def huge_header_length(directory: Path) -> None:
    path = directory / "model.safetensors"
    path.write_bytes((2 ** 60).to_bytes(8, "little") + path.read_bytes()[8:])


def nan_weights(directory: Path) -> None:
    from safetensors.torch import load_file, save_file

    path = directory / "model.safetensors"
    state = load_file(str(path))
    key = next(k for k, v in state.items() if v.is_floating_point())
    state[key] = torch.full_like(state[key], float("nan"))
    save_file(state, str(path))


CORRUPTIONS = {
    "list-shaped config": (edit_config(lambda c: [c], replace=True), "config.json", "expected a JSON object"),
    "empty config file": (write("config.json", ""), "config.json", "not valid JSON"),
    "empty config object": (edit_config(lambda c: {}, replace=True), "config.json", "'format'"),
    "missing schema": (edit_config(lambda c: c.pop("schema")), "config.json", "missing field 'schema'"),
    "missing encoder": (edit_config(lambda c: c.pop("encoder")), "config.json", "missing field 'encoder'"),
    "missing hidden size": (edit_config(lambda c: c["encoder"].pop("hidden_size")), "config.json",
                            "'encoder.hidden_size'"),
    "missing method": (edit_config(lambda c: c.pop("method")), "config.json", "missing field 'method'"),
    "unknown method": (edit_config(lambda c: c.update(method="nope.v9")), "config.json", "field 'method'"),
    "method a number": (edit_config(lambda c: c.update(method=5)), "config.json", "field 'method'"),
    "method_config a string": (edit_config(lambda c: c.update(method_config="big")), "config.json",
                               "field 'method_config'"),
    "emb_size as text": (edit_config(lambda c: c["method_config"].update(emb_size="32")), "config.json",
                         "emb_size must be a whole number"),
    "relation ids a string": (edit_config(lambda c: c["schema"].update(relation_ids="P17")), "config.json",
                              "'schema.relation_ids'"),
    "hidden size as text": (edit_config(lambda c: c["encoder"].update(hidden_size="32")), "config.json",
                            "'encoder.hidden_size'"),
    "max_window as text": (edit_config(lambda c: c["encoder"].update(max_window="512")), "config.json",
                           "max_window must be a whole number"),
    "metrics a list": (edit_config(lambda c: c.update(metrics=[1])), "config.json", "field 'metrics'"),
    # 2^20 x 2^10 features into 97 classes: a 400 GB bilinear layer if it were built
    "absurd emb_size": (edit_config(lambda c: c["method_config"].update(emb_size=2 ** 20, block_size=2 ** 10)),
                        "model.safetensors", "method_config"),
    "absurd hidden size": (edit_config(lambda c: c["encoder"].update(hidden_size=10 ** 9)), "config.json",
                           "'encoder.hidden_size'"),
    "wrong hidden size": (edit_config(lambda c: c["encoder"].update(hidden_size=50_000)), "model.safetensors",
                          "encoder.hidden_size: 50000"),
    "fewer relations": (edit_config(lambda c: c["schema"].update(relation_ids=c["schema"]["relation_ids"][:50])),
                        "model.safetensors", "schema.relation_ids: 50 relations"),
    "empty weights file": (write("model.safetensors", b""), "model.safetensors", "not a readable safetensors file"),
    "garbage weights": (write("model.safetensors", bytes(range(256)) * 64), "model.safetensors",
                        "not a readable safetensors file"),
    "header claims 2^60 bytes": (huge_header_length, "model.safetensors", "not a readable safetensors file"),
    "truncated weights": (truncate_weights, "model.safetensors", "data_offsets"),
    "NaN weights": (nan_weights, "model.safetensors", "NaN"),
}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_corrupt_checkpoint_is_a_checkpoint_error_naming_file_and_field(name, good, tmp_path):
    corrupt, file, field = CORRUPTIONS[name]
    directory = tmp_path / "m"
    shutil.copytree(good, directory)
    corrupt(directory)
    with AllocationGuard(), pytest.raises(CheckpointError) as err:
        load_checkpoint(directory)
    message = str(err.value)
    assert str(directory / file) in message and field in message, message
    if name != "NaN weights":  # values are only seen when the weights are loaded
        with pytest.raises(CheckpointError):
            check_checkpoint(directory)  # what model discovery runs: no encoder, no weights loaded


def test_sound_checkpoint_passes_every_check(good):
    with AllocationGuard():
        assert check_checkpoint(good)["method"] == "atlop.v1"
        load_checkpoint(good)


def test_encoder_name_is_offline_unless_downloads_are_allowed(monkeypatch):
    """A checkpoint naming a hub encoder not on this machine fails offline, saying how to allow the download."""
    import transformers

    from engine.model.encoder import load_hf

    calls = []

    def fake(path, **kwargs):
        calls.append(kwargs)
        raise OSError("not in the local cache")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("DOCRE_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fake)
    with pytest.raises(CheckpointError, match="--allow-download or set DOCRE_ALLOW_DOWNLOAD=1"):
        load_hf("someone/some-encoder")
    assert calls[-1] == {"local_files_only": True}
    with pytest.raises(CheckpointError):
        load_hf("someone/some-encoder", allow_download=True)
    assert calls[-1] == {}
    monkeypatch.setenv("DOCRE_ALLOW_DOWNLOAD", "1")
    with pytest.raises(CheckpointError):
        load_hf("someone/some-encoder")
    assert calls[-1] == {}
