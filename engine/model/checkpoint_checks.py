"""Checks on a checkpoint's two files before anything is built from them.

A tampered or corrupt checkpoint must fail as a CheckpointError that names the file and the field, never as
a KeyError or TypeError from deep inside, nor by allocating what its numbers ask for (an emb_size of 10^6
makes a bilinear layer of hundreds of GB). So: every field config.json is read for has its type checked;
model.safetensors' header is read as JSON without loading a tensor, its offsets checked against the file's
size; and the method's head is built on the meta device (shapes, no memory) and compared with the header.
A header cannot describe more data than the file holds, so shapes that match it are safe to allocate."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import ConfigBase, EncoderConfig
from engine.data.docred_rules import json_kind
from engine.data.schema import RelationSchema
from engine.errors import CheckpointError, ConfigError, DocreError, UnknownMethodError
from engine.model.meta_build import shapes_only
from engine.model.methods import MethodConfig, ModelDims, get_method
from engine.model.weight_codec import SCALE_SUFFIX

MAX_HEADER_BYTES = 100 * 2 ** 20  # safetensors' own limit
MAX_DIMENSION = 1 << 20  # no encoder has a hidden size or vocabulary near this
DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
               "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as the safetensors header describes it."""

    dtype: str
    shape: tuple[int, ...]


def read_safetensors_header(path: Path) -> dict[str, TensorInfo]:
    """Names, dtypes and shapes from the header alone (an 8-byte little-endian length, then that much JSON),
    each tensor's byte range checked to lie inside the file and to match its dtype and shape."""
    size = path.stat().st_size
    with path.open("rb") as f:
        prefix = f.read(8)
        length = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
        if length < 2 or length > min(size - 8, MAX_HEADER_BYTES):  # nothing read from the file is quoted
            raise CheckpointError(f"{path}: not a readable safetensors file (its header length is impossible); "
                                  "the file is truncated or corrupt: copy it again or retrain")
        raw = f.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # the error would quote the bytes
        raise CheckpointError(f"{path}: corrupt safetensors header, not JSON; copy the file again") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt safetensors header: expected a JSON object, got {json_kind(header)}")
    data_bytes = size - 8 - length
    tensors: dict[str, TensorInfo] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        tensors[name] = _tensor_info(path, name, entry, data_bytes)
    return tensors


def _tensor_info(path: Path, name: str, entry: Any, data_bytes: int) -> TensorInfo:
    if not isinstance(entry, dict):
        raise CheckpointError(f"{path}: header entry {name!r}: expected an object, got {json_kind(entry)}")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPE_BYTES:
        raise CheckpointError(f"{path}: tensor {name!r}: unknown dtype {dtype!r}")
    if not (isinstance(shape, list) and all(_is_int(d) and d >= 0 for d in shape)):
        raise CheckpointError(f"{path}: tensor {name!r}: shape {shape!r} is not a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)
            and 0 <= offsets[0] <= offsets[1] <= data_bytes):
        raise CheckpointError(f"{path}: tensor {name!r}: data_offsets {offsets!r} lie outside the file's "
                              f"{data_bytes:,} bytes of data; the file is truncated or corrupt")
    if offsets[1] - offsets[0] != math.prod(shape) * DTYPE_BYTES[dtype]:
        raise CheckpointError(f"{path}: tensor {name!r}: shape {shape} of {dtype} needs "
                              f"{math.prod(shape) * DTYPE_BYTES[dtype]:,} bytes, its data_offsets give "
                              f"{offsets[1] - offsets[0]:,}")
    return TensorInfo(dtype, tuple(shape))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _need(config: dict, key: str, kind: type, path: Path, where: str = "") -> Any:
    """config[key], which must be of `kind`; else a CheckpointError naming the field."""
    field = f"{where}{key}"
    if key not in config:
        raise CheckpointError(f"{path}: missing field {field!r}; the file is incomplete or not a checkpoint's config")
    value = config[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = {dict: "an object", list: "a list", str: "a string", int: "a whole number"}[kind]
        raise CheckpointError(f"{path}: field {field!r}: expected {expected}, got {json_kind(value)} {value!r:.60}")
    return value


@dataclass(frozen=True)
class CheckedConfig:
    """What config.json says, parsed and type-checked."""

    raw: dict[str, Any]
    method: str
    method_config: MethodConfig
    schema: RelationSchema
    encoder_config: EncoderConfig
    hidden_size: int
    vocab_size: int
    omitted_weights: tuple[str, ...]


def check_config(config: Any, path: Path) -> CheckedConfig:
    """Every field load_checkpoint reads, typed and in range; path is config.json, named in every message."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: expected a JSON object (method, method_config, schema, encoder, ...), "
                              f"got {json_kind(config)}")
    method = _need(config, "method", str, path)
    try:
        spec = get_method(method)
    except UnknownMethodError as exc:
        raise CheckpointError(f"{path}: field 'method': {exc}") from None
    method_config = _parse(spec.config_class, _need(config, "method_config", dict, path), path, "method_config")
    schema_json = _need(config, "schema", dict, path)
    ids = _need(schema_json, "relation_ids", list, path, "schema.")
    names = schema_json.get("names", {})
    if not ids or not all(isinstance(r, str) for r in ids) or not isinstance(names, dict):
        raise CheckpointError(f"{path}: field 'schema.relation_ids': expected a non-empty list of relation id strings "
                              "(and 'schema.names' an object)")
    try:
        schema = RelationSchema.from_json(schema_json)
    except DocreError as exc:
        raise CheckpointError(f"{path}: field 'schema': {exc}") from None
    enc = _need(config, "encoder", dict, path)
    _need(enc, "name", str, path, "encoder.")
    sizes = {key: _need(enc, key, int, path, "encoder.") for key in ("hidden_size", "vocab_size")}
    for key, value in sizes.items():
        if not 0 < value <= MAX_DIMENSION:
            raise CheckpointError(f"{path}: field 'encoder.{key}': {value:,} is not a plausible size "
                                  f"(1..{MAX_DIMENSION:,})")
    omitted = enc.get("omitted_weights", [])
    if not isinstance(omitted, list) or not all(isinstance(k, str) for k in omitted):
        raise CheckpointError(f"{path}: field 'encoder.omitted_weights': expected a list of tensor names")
    if omitted:
        _need(enc, "word_embedding_fingerprint", str, path, "encoder.")
    encoder_config = _parse(EncoderConfig, {k: v for k, v in enc.items() if k in EncoderConfig.help()}, path, "encoder")
    if not isinstance(config.get("metrics") or {}, dict):
        raise CheckpointError(f"{path}: field 'metrics': expected an object, got {json_kind(config['metrics'])}")
    return CheckedConfig(config, spec.name, method_config, schema, encoder_config, sizes["hidden_size"],
                         sizes["vocab_size"], tuple(omitted))


def _parse(cls: type[ConfigBase], data: dict, path: Path, field: str) -> Any:
    try:
        return cls.from_json(data)
    except ConfigError as exc:
        raise CheckpointError(f"{path}: field {field!r}: {exc}") from None


# Checkpoints saved before the classifier was called so name it `head` ("head" now means the head entity);
# P3M heads saved before they took ATLOP's names (so a warm start fills them) call theirs `metric`. First match wins.
LEGACY_PREFIXES = {"head.metric.": "classifier.classifier.", "classifier.metric.": "classifier.classifier.",
                   "head.": "classifier."}


def canonical_name(name: str) -> str:
    """A stored tensor's name in today's model (legacy prefixes renamed)."""
    for old, new in LEGACY_PREFIXES.items():
        if name.startswith(old):
            return new + name[len(old):]
    return name


def stored_shapes(tensors: dict[str, TensorInfo]) -> dict[str, tuple[int, ...]]:
    """State-dict names (canonical) and shapes the file holds (int8 scales belong to their matrix; same shape)."""
    return {canonical_name(name): info.shape for name, info in tensors.items() if not name.endswith(SCALE_SUFFIX)}


def _head_shapes(checked: CheckedConfig, hidden_size: int, num_classes: int) -> dict[str, tuple[int, ...]]:
    """The head's state-dict shapes, built on the meta device: sizes only, nothing allocated."""
    # no classifier's shapes use num_heads; fresh=False: a second encoder (KMGRE's) needs no pre-trained weights
    dims = ModelDims(hidden_size, 1, num_classes, encoder_name=checked.encoder_config.name,
                     encoder=checked.encoder_config, fresh=False)
    with shapes_only():
        classifier = get_method(checked.method).build(checked.method_config, dims)
    return {f"classifier.{k}": tuple(v.shape) for k, v in classifier.state_dict().items()}


def check_head_fits(checked: CheckedConfig, tensors: dict[str, TensorInfo], config_path: Path,
                    weights_path: Path) -> None:
    """The head config.json describes has exactly the head tensors, of the same shapes, the weights file holds."""
    try:
        expected = _head_shapes(checked, checked.hidden_size, checked.schema.num_classes)
    except ConfigError as exc:
        raise CheckpointError(f"{config_path}: method_config, schema and encoder.hidden_size do not make a "
                              f"{checked.method} head: {exc}") from None
    stored = {k: v for k, v in stored_shapes(tensors).items() if k.startswith("classifier.")}
    missing, unexpected = sorted(set(expected) - set(stored)), sorted(set(stored) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{weights_path}: head tensors do not match method {checked.method} of {config_path}: "
                              f"missing {missing[:3]}, unexpected {unexpected[:3]}; "
                              "the two files come from different models")
    wrong = [k for k in expected if expected[k] != stored[k]]
    if wrong:
        key = wrong[0]
        fields = _fields_behind(checked, key, stored[key])
        raise CheckpointError(f"{weights_path}: tensor {key!r} has shape {list(stored[key])}, but {config_path} "
                              f"({fields}) makes it {list(expected[key])}; the config and the weights do not belong "
                              "together (edited, or copied from different models)")


def _fields_behind(checked: CheckedConfig, key: str, stored: tuple[int, ...]) -> str:
    """The config field a head tensor's wrong size follows: the head is built again with one size changed,
    and a field is named when it moves a dimension that differs from the stored one; else method_config."""
    expected = _head_shapes(checked, checked.hidden_size, checked.schema.num_classes)[key]
    wrong = {i for i, (a, b) in enumerate(zip(expected, stored)) if a != b} or set(range(len(expected)))
    probes = {f"schema.relation_ids: {checked.schema.num_relations} relations":
              (checked.hidden_size, checked.schema.num_classes + 1),
              f"encoder.hidden_size: {checked.hidden_size}": (2 * checked.hidden_size, checked.schema.num_classes)}
    fields = []
    for label, (hidden, classes) in probes.items():
        try:
            probe = _head_shapes(checked, hidden, classes).get(key)
        except ConfigError:
            continue
        if probe is not None and any(i < len(probe) and probe[i] != expected[i] for i in wrong):
            fields.append(label)
    return ", ".join(fields) or "method_config"
