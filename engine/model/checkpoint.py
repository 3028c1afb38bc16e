"""Checkpoints: a directory with `config.json` (method, configs, schema, encoder, data hash, metrics,
version) and `model.safetensors`. Never pickles. Frozen word embeddings are not stored: they come from the
installed encoder, checked by fingerprint, which keeps shipped models small."""
from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from engine.config import EncoderConfig
from engine.model.encoder import DocumentEncoder, load_hf
from engine.errors import CheckpointError
from engine.model.features import Tokenizer
from engine.model.methods import MethodConfig, ModelDims, get_method
from engine.model.extractor import DocREModel
from engine.data.schema import RelationSchema
from engine.version import CHECKPOINT_FORMAT, ENGINE_VERSION
from engine.model.weight_codec import decode_state, encode_state

log = logging.getLogger(__name__)
CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"


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
                schema: RelationSchema, *, pretrained_encoder: bool = True, fresh: bool = True) -> LoadedModel:
    """A fresh model: the encoder's pre-trained weights plus a newly initialised head."""
    spec = get_method(method)
    method_config = method_config or spec.config_class()
    method_config.validate()
    hf_tokenizer, hf_model = load_hf(encoder_config.name, pretrained_weights=pretrained_encoder)
    encoder = DocumentEncoder(hf_model, encoder_config)
    # fresh=False: a checkpoint's weights will replace every trained part, so a head's own second encoder
    # (KMGRE's) needs no pre-trained weights
    dims = ModelDims(encoder.hidden_size, encoder.num_heads, schema.num_classes, encoder_name=encoder_config.name,
                     encoder=encoder_config, fresh=fresh)
    model = DocREModel(encoder, spec.build(method_config, dims))
    return LoadedModel(model, Tokenizer(hf_tokenizer, encoder_config.marker), schema, spec.name, encoder_config, method_config)


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
    directory = Path(directory)
    path = directory / CONFIG_FILE
    if not path.is_file() or not (directory / WEIGHTS_FILE).is_file():
        raise CheckpointError(f"{directory} is not a checkpoint: it needs {CONFIG_FILE} and {WEIGHTS_FILE}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path} is not valid JSON: {exc}") from exc
    if config.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{directory}: checkpoint format {config.get('format')!r}, this engine "
                              f"({ENGINE_VERSION}) reads format {CHECKPOINT_FORMAT}; retrain or convert it")
    if config.get("checkpoint_id") is not None:
        try:
            weights_id = weights_checkpoint_id(directory / WEIGHTS_FILE)
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types for a bad header
            raise CheckpointError(f"{directory / WEIGHTS_FILE} is not a readable safetensors file: {exc}") from exc
        if weights_id != config["checkpoint_id"]:
            raise CheckpointError(f"{directory}: {CONFIG_FILE} and {WEIGHTS_FILE} come from different saves (the save "
                                  "was interrupted); use the run's last/ directory or retrain")
    return config


def load_checkpoint(directory: str | Path, *, device: str | torch.device = "cpu", expect_schema: RelationSchema | None = None,
                    encoder_name: str | None = None) -> LoadedModel:
    """Build the model the checkpoint describes and load its weights; a mismatch says what differs."""
    directory = Path(directory)
    config = read_checkpoint_config(directory)
    schema = RelationSchema.from_json(config["schema"])
    if expect_schema is not None and expect_schema != schema:
        missing = sorted(set(expect_schema.relation_ids) - set(schema.relation_ids))
        extra = sorted(set(schema.relation_ids) - set(expect_schema.relation_ids))
        raise CheckpointError(f"{directory}: relation schema differs: the checkpoint lacks {missing[:5]} and has "
                              f"{extra[:5]} extra (order may differ too); use a checkpoint trained on this schema")
    enc = config["encoder"]
    encoder_config = EncoderConfig.from_json({k: v for k, v in enc.items() if k in EncoderConfig.help()})
    if encoder_name is not None:
        encoder_config = encoder_config.replace(name=encoder_name)
    spec = get_method(config["method"])
    loaded = build_model(spec.name, spec.config_class.from_json(config["method_config"]), encoder_config, schema,
                         pretrained_encoder=bool(enc.get("omitted_weights")), fresh=False)
    encoder = loaded.model.encoder
    if encoder.hidden_size != enc["hidden_size"] or int(encoder.model.config.vocab_size) != enc["vocab_size"]:
        raise CheckpointError(f"{directory}: encoder differs: checkpoint has hidden size {enc['hidden_size']} and vocabulary "
                              f"{enc['vocab_size']}, {encoder_config.name!r} has {encoder.hidden_size} and "
                              f"{encoder.model.config.vocab_size}")
    if enc.get("omitted_weights") and encoder.word_embedding_fingerprint() != enc["word_embedding_fingerprint"]:
        raise CheckpointError(f"{directory}: encoder differs: the word embeddings of {encoder_config.name!r} are not the "
                              "ones this checkpoint was trained with; install or point --encoder at that encoder")
    state = decode_state(load_file(str(directory / WEIGHTS_FILE)))
    own = loaded.model.state_dict()
    unexpected = sorted(set(state) - set(own))
    missing = sorted(set(own) - set(state) - set(enc.get("omitted_weights", [])))
    if unexpected or missing:
        raise CheckpointError(f"{directory}: weights do not match method {spec.name}: missing {missing[:5]}, "
                              f"unexpected {unexpected[:5]}")
    loaded.model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=False)
    loaded.model.to(device).eval()
    loaded.info = config
    return loaded


def warm_start(loaded: LoadedModel, directory: str | Path) -> list[str]:
    """Copy into a fresh model every weight of another checkpoint with the same name and shape (the encoder
    and any shared head parts): a new method starts from a trained model instead of the bare encoder.
    Returns the names copied; the checkpoints must share relation schema and encoder."""
    source = load_checkpoint(directory, expect_schema=loaded.schema)
    if source.encoder_config.name != loaded.encoder_config.name:
        raise CheckpointError(f"{directory}: encoder {source.encoder_config.name!r} differs from "
                              f"{loaded.encoder_config.name!r}; warm-start only from a checkpoint on the same encoder")
    own = loaded.model.state_dict()
    copied = {k: v for k, v in source.model.state_dict().items() if k in own and own[k].shape == v.shape}
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
