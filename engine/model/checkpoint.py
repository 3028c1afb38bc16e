"""Checkpoints: a directory with `config.json` (method, configs, schema, encoder, data hash, metrics,
version) and `model.safetensors`. Never pickles. Frozen word embeddings are not stored: they come from the
installed encoder, checked by fingerprint, which keeps shipped models small."""
from __future__ import annotations

import json
import logging
import math
import stat
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine.config import EncoderConfig
from engine.data import json_input
from engine.data.schema import RelationSchema
from engine.data.text_rules import value_problems
from engine.errors import CheckpointError, InputFileError
from engine.file_modes import like_open
from engine.model.checkpoint_checks import (
    CheckedConfig,
    canonical_name,
    check_config,
    check_head_fits,
    read_safetensors_header,
    stored_shapes,
)
from engine.model.encoder import DocumentEncoder, load_encoder
from engine.model.extractor import DocREModel
from engine.model.features import Tokenizer
from engine.model.methods import MethodConfig, ModelDims, get_method
from engine.model.weight_codec import decode_state, encode_state
from engine.version import CHECKPOINT_FORMAT, ENGINE_VERSION

log = logging.getLogger(__name__)
CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"
ENCODER_PREFIX = "encoder.model."  # DocREModel.encoder (DocumentEncoder).model: the pre-trained encoder


@dataclass
class LoadedModel:
    """A model ready to run, with what it needs to read documents."""

    model: DocREModel
    tokenizer: Tokenizer
    schema: RelationSchema
    method: str
    encoder_config: EncoderConfig
    method_config: MethodConfig
    info: dict[str, Any] = field(default_factory=dict)  # the rest of config.json (metrics, data hash, ...)


def build_model(method: str, method_config: MethodConfig | None, encoder_config: EncoderConfig,
                schema: RelationSchema, *, pretrained_encoder: bool = True, fresh: bool = True,
                allow_download: bool | None = None, lean: bool = False,
                pretrained_only: frozenset[str] | None = None) -> LoadedModel:
    """A fresh model: the encoder's pre-trained weights plus a newly initialised head. allow_download: see load_hf;
    fresh=False: a checkpoint will fill the weights (a head's own second encoder then needs no pre-trained ones)."""
    spec = get_method(method)
    method_config = method_config or spec.config_class()
    method_config.validate()
    hf_tokenizer, hf_model = load_encoder(encoder_config.name, pretrained_weights=pretrained_encoder,
                                          allow_download=allow_download, lean=lean, pretrained_only=pretrained_only)
    encoder = DocumentEncoder(hf_model, encoder_config)
    # fresh=False: a checkpoint's weights will replace every trained part, so a head's own second encoder
    # (KMGRE's) needs no pre-trained weights
    dims = ModelDims(encoder.hidden_size, encoder.num_heads, schema.num_classes, encoder_name=encoder_config.name,
                     encoder=encoder_config, fresh=fresh)
    model = DocREModel(encoder, spec.build(method_config, dims))
    return LoadedModel(model, Tokenizer(hf_tokenizer, encoder_config.marker), schema, spec.name, encoder_config,
                       method_config)


def _omitted_keys(model: DocREModel, encoder_config: EncoderConfig) -> list[str]:
    if not encoder_config.freeze_word_embeddings:
        return []
    weight = model.encoder.model.get_input_embeddings().weight
    return [k for k, v in model.state_dict(keep_vars=True).items() if v is weight]


def save_checkpoint(loaded: LoadedModel, directory: str | Path, *, metrics: dict | None = None,
                    data_hash: str | None = None, train_config: dict | None = None, save_dtype: str = "float32",
                    extra: dict | None = None) -> Path:
    """Write config.json and model.safetensors. Each file goes to a temporary name and is renamed into place
    (weights first, config last); a checkpoint id in both lets loading detect a pair from different saves."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = loaded.model
    omitted = _omitted_keys(model, loaded.encoder_config)
    tensors = encode_state({k: v for k, v in model.state_dict().items() if k not in omitted}, save_dtype)
    checkpoint_id = uuid.uuid4().hex
    weights_tmp = directory / (WEIGHTS_FILE + ".tmp")
    save_file(tensors, str(weights_tmp), metadata={"format": "pt", "checkpoint_id": checkpoint_id})
    like_open(weights_tmp)  # safetensors writes 0o600; config.json gets open()'s mode: make them the same
    weights_tmp.replace(directory / WEIGHTS_FILE)
    encoder = model.encoder
    config = {
        "format": CHECKPOINT_FORMAT, "engine_version": ENGINE_VERSION, "method": loaded.method,
        "method_config": loaded.method_config.to_json(), "schema": loaded.schema.to_json(),
        "encoder": {**loaded.encoder_config.to_json(), "hidden_size": encoder.hidden_size,
                    "vocab_size": int(encoder.model.config.vocab_size),
                    "word_embedding_fingerprint": encoder.word_embedding_fingerprint(), "omitted_weights": omitted},
        "data_hash": data_hash, "train_config": train_config, "metrics": metrics or {}, "save_dtype": save_dtype,
        **(extra or {}), "checkpoint_id": checkpoint_id,
    }
    config_tmp = directory / (CONFIG_FILE + ".tmp")
    config_tmp.write_text(json.dumps(config, indent=1), encoding="utf-8")
    config_tmp.replace(directory / CONFIG_FILE)
    return directory


def weights_checkpoint_id(path: Path) -> str | None:
    """The checkpoint id in a safetensors header (None for files saved before ids existed)."""
    from safetensors import safe_open  # noqa: PLC0415

    with safe_open(str(path), "pt") as f:
        return (f.metadata() or {}).get("checkpoint_id")


def read_checkpoint_config(directory: str | Path) -> dict[str, Any]:
    """config.json, parsed and with every field the engine reads type-checked (checkpoint_checks.py)."""
    return _read_config(Path(directory)).raw


def checkpoint_file(directory: Path, name: str) -> Path:
    """`directory/name` resolved, if it is a regular file inside the (resolved) checkpoint directory; otherwise a
    CheckpointError that says nothing of what the path points at (a model.safetensors linked to /etc/shadow
    once showed that file's size and first bytes on the Upload page)."""
    path = directory / name
    try:
        resolved = path.resolve(strict=True)
        inside = resolved.is_relative_to(directory.resolve(strict=True))
        regular = stat.S_ISREG(resolved.stat().st_mode)
    except (OSError, RuntimeError):  # missing, a link loop, unreadable
        raise CheckpointError(f"{directory} is not a checkpoint: it needs {CONFIG_FILE} and {WEIGHTS_FILE}") from None
    if not inside:
        raise CheckpointError(f"{path} is a link to a file outside its checkpoint directory; model files are read "
                              "only from inside it: copy the file there instead of linking it")
    if not regular:
        raise CheckpointError(f"{path} is not a regular file; a checkpoint holds {CONFIG_FILE} and {WEIGHTS_FILE} "
                              "as plain files")
    return resolved


def _read_config(directory: Path) -> CheckedConfig:
    path = checkpoint_file(directory, CONFIG_FILE)
    checkpoint_file(directory, WEIGHTS_FILE)
    try:
        config = json_input.loads(path.read_text(encoding="utf-8"), str(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} is not valid JSON at byte {getattr(exc, 'pos', getattr(exc, 'start', '?'))}; "
                              "copy the checkpoint again or retrain") from None
    except InputFileError as exc:
        raise CheckpointError(str(exc)) from None
    for where, problem in value_problems(config, CONFIG_FILE):
        raise CheckpointError(f"{path}: {where}: {problem}")
    if isinstance(config, dict) and config.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: field 'format': checkpoint format {config.get('format')!r}, this engine "
                              f"({ENGINE_VERSION}) reads format {CHECKPOINT_FORMAT}; retrain or convert it")
    return check_config(config, path)


def _check_same_save(checked: CheckedConfig, directory: Path) -> None:
    """config.json and model.safetensors of one save (call after the header passed its checks). Weights
    rewritten by another tool carry no id; a torn save leaves two different ones."""
    expected = checked.raw.get("checkpoint_id")
    if expected is not None:
        weights_id = weights_checkpoint_id(checkpoint_file(directory, WEIGHTS_FILE))
        if weights_id is not None and weights_id != expected:
            raise CheckpointError(f"{directory}: {CONFIG_FILE} and {WEIGHTS_FILE} come from different saves (the save "
                                  "was interrupted); use the run's last/ directory or retrain")


def check_checkpoint(directory: str | Path) -> dict[str, Any]:
    """Everything that can be checked without building the model: config.json's fields, model.safetensors'
    header, and the head the config describes against the tensors stored (model discovery uses this)."""
    directory = Path(directory)
    checked = _read_config(directory)
    tensors = read_safetensors_header(checkpoint_file(directory, WEIGHTS_FILE))
    _check_same_save(checked, directory)
    check_head_fits(checked, tensors, directory / CONFIG_FILE, directory / WEIGHTS_FILE)
    return checked.raw


def load_checkpoint(directory: str | Path, *, device: str | torch.device = "cpu",
                    expect_schema: RelationSchema | None = None,
                    encoder_name: str | None = None, allow_download: bool | None = None,
                    lean: bool = False) -> LoadedModel:
    """Build the model the checkpoint describes and load its weights; a mismatch says what differs. Nothing is
    built before the files are checked, so a tampered config cannot make it allocate what it asks for.
    lean=True: for inference only, the encoder may load without transformers (encoder.load_encoder)."""
    directory = Path(directory)
    checked = _read_config(directory)
    weights = checkpoint_file(directory, WEIGHTS_FILE)
    tensors = read_safetensors_header(weights)
    _check_same_save(checked, directory)
    check_head_fits(checked, tensors, directory / CONFIG_FILE, weights)
    config, schema = checked.raw, checked.schema
    if expect_schema is not None and expect_schema != schema:
        missing = sorted(set(expect_schema.relation_ids) - set(schema.relation_ids))
        extra = sorted(set(schema.relation_ids) - set(expect_schema.relation_ids))
        raise CheckpointError(f"{directory}: relation schema differs: the checkpoint lacks {missing[:5]} and has "
                              f"{extra[:5]} extra (order may differ too); use a checkpoint trained on this schema")
    encoder_config = checked.encoder_config
    if encoder_name is not None:
        encoder_config = encoder_config.replace(name=encoder_name)
    loaded = build_model(checked.method, checked.method_config, encoder_config, schema,
                         pretrained_encoder=bool(checked.omitted_weights), allow_download=allow_download, fresh=False,
                         lean=lean, pretrained_only=_encoder_names(checked.omitted_weights))
    encoder, enc = loaded.model.encoder, config["encoder"]
    if encoder.hidden_size != checked.hidden_size or int(encoder.model.config.vocab_size) != checked.vocab_size:
        raise CheckpointError(f"{directory}: encoder differs: checkpoint has hidden size {enc['hidden_size']} and "
                              f"vocabulary {enc['vocab_size']}, {encoder_config.name!r} has {encoder.hidden_size} and "
                              f"{encoder.model.config.vocab_size}")
    if checked.omitted_weights and encoder.word_embedding_fingerprint() != enc["word_embedding_fingerprint"]:
        raise CheckpointError(f"{directory}: encoder differs: the word embeddings of {encoder_config.name!r} are not "
                              "the ones this checkpoint was trained with; install or point --encoder at that encoder")
    own = loaded.model.state_dict()
    stored = stored_shapes(tensors)
    unexpected = sorted(set(stored) - set(own))
    missing = sorted(set(own) - set(stored) - set(checked.omitted_weights))
    if unexpected or missing:
        raise CheckpointError(f"{directory}: weights do not match method {checked.method}: missing {missing[:5]}, "
                              f"unexpected {unexpected[:5]}")
    wrong = [k for k in stored if tuple(own[k].shape) != stored[k]]
    if wrong:
        raise CheckpointError(f"{weights}: tensor {wrong[0]!r} has shape {list(stored[wrong[0]])}, the model built "
                              f"from {CONFIG_FILE} and encoder {encoder_config.name!r} has {list(own[wrong[0]].shape)}")
    state = _load_weights(weights)
    loaded.model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=False)
    loaded.model.to(device).eval()
    loaded.info = config
    return loaded


def _encoder_names(state_keys: Sequence[str]) -> frozenset[str]:
    """The encoder's own parameter names of model state-dict keys (encoder.model.<name>)."""
    return frozenset(k.removeprefix(ENCODER_PREFIX) for k in state_keys if k.startswith(ENCODER_PREFIX))


def all_finite(tensor: torch.Tensor) -> bool:
    """No NaN or infinity: the smallest and largest value are finite (both propagate NaN). One reduction, about
    25x faster than isfinite().all() on fp16 weights, which took half of a shipped model's load time."""
    if tensor.numel() == 0:
        return True
    low, high = torch.aminmax(tensor)
    return math.isfinite(float(low)) and math.isfinite(float(high))


def _load_weights(path: Path) -> dict[str, torch.Tensor]:
    """The stored state, decoded; unreadable data or a non-finite weight is a CheckpointError naming the file."""
    try:
        state = decode_state(load_file(str(path)))
    except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{path}: the weights cannot be read ({exc}); "
                              "the file is corrupt: copy it again") from None
    for key, value in state.items():
        if value.is_floating_point() and not all_finite(value):
            raise CheckpointError(f"{path}: tensor {key!r} holds NaN or infinite values; the file is corrupt, or "
                                  "it was saved from a run that diverged")
    return {canonical_name(k): v for k, v in state.items()}


def warm_start(loaded: LoadedModel, directory: str | Path, *, allow_download: bool | None = None) -> list[str]:
    """Copy into a fresh model every weight of another checkpoint with the same name and shape (the encoder
    and any shared head parts): a new method starts from a trained model instead of the bare encoder.
    Returns the names copied; the checkpoints must share relation schema and encoder."""
    source = load_checkpoint(directory, expect_schema=loaded.schema, allow_download=allow_download)
    if source.encoder_config.name != loaded.encoder_config.name:
        raise CheckpointError(f"{directory}: encoder {source.encoder_config.name!r} differs from "
                              f"{loaded.encoder_config.name!r}; warm-start only from a checkpoint on the same encoder")
    own = loaded.model.state_dict()
    # Frozen word embeddings are never saved: the checkpoint relies on the installed encoder's. A source that
    # trained its own would make the new checkpoint unloadable, so those stay the installed ones.
    frozen = set(_omitted_keys(loaded.model, loaded.encoder_config))
    source_state = source.model.state_dict()
    copied = {k: v for k, v in source_state.items() if k in own and own[k].shape == v.shape and k not in frozen}
    for own_prefix, source_prefix in loaded.model.classifier.warm_start_aliases().items():
        for k, v in source_state.items():  # a same-named tensor (the source has the part too) wins
            name = own_prefix + k.removeprefix(source_prefix)
            if k.startswith(source_prefix) and k not in frozen and name not in copied and name in own \
                    and own[name].shape == v.shape:
                copied[name] = v
    loaded.model.load_state_dict(copied, strict=False)
    log.info("warm start from %s: %d of %d tensors copied (%s method)", directory, len(copied), len(own), source.method)
    return sorted(copied)


def update_checkpoint_config(directory: str | Path, **fields: Any) -> dict[str, Any]:
    """Set top-level fields of a checkpoint's config.json (its calibration, say) without touching the
    weights; the checkpoint id stays, and the file is replaced atomically."""
    directory = Path(directory)
    config = read_checkpoint_config(directory)
    config.update(fields)
    tmp = directory / (CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(config, indent=1), encoding="utf-8")
    tmp.replace(directory / CONFIG_FILE)
    return config
