"""Dataclass configs with defaults, help text and validation; they round-trip through JSON and travel
inside every checkpoint, so a checkpoint says exactly how it was built and trained."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, TypeVar

from engine.errors import ConfigError
from engine.settings import TRAIN_PRECISIONS

SAVE_DTYPES = ("float32", "float16", "bfloat16", "int8")  # storage of checkpoint weights (weight_codec.py)

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"

C = TypeVar("C", bound="ConfigBase")


def option(default: Any, help: str, **kwargs: Any) -> Any:
    """A dataclass field carrying its CLI help text."""
    return field(default=default, metadata={"help": help, **kwargs})


@dataclass
class ConfigBase:
    """JSON round-trip and validation shared by every config."""

    # keys renamed since older checkpoints were written: old key -> new key, read from JSON, never written
    RENAMED: ClassVar[dict[str, str]] = {}

    def validate(self) -> None:
        """Raise ConfigError for out-of-range values; subclasses extend."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls: type[C], data: dict[str, Any]) -> C:
        """Build and validate; values of the wrong kind (text for a number, a number for a flag) are a
        ConfigError naming the key, since they come from users (--option) and from checkpoint files."""
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.__name__}: expected an object of settings, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        data = cls.with_new_names(data)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{cls.__name__}: unknown keys {unknown}; known keys: {sorted(known)}")
        defaults = cls()
        config = cls(**{key: _of_kind(key, value, getattr(defaults, key)) for key, value in data.items()})
        config.validate()
        return config

    @classmethod
    def with_new_names(cls, data: dict[str, Any]) -> dict[str, Any]:
        """`data` with old keys (RENAMED) under their new names; both at once is a ConfigError."""
        renamed = dict(data)
        for old, new in cls.RENAMED.items():
            if old in renamed:
                if new in renamed:
                    raise ConfigError(f"{cls.__name__}: {old!r} is the old name of {new!r}; give only {new!r}")
                renamed[new] = renamed.pop(old)
        return renamed

    def replace(self: C, **changes: Any) -> C:
        config = dataclasses.replace(self, **changes)
        config.validate()
        return config

    @classmethod
    def help(cls) -> dict[str, str]:
        return {f.name: f.metadata.get("help", "") for f in fields(cls)}


def _of_kind(key: str, value: Any, default: Any) -> Any:
    """value if it is of the default's kind (an int where a float goes becomes a float); else ConfigError."""
    def is_number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = is_number(value)
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(is_number(v) for v in value)  # the list options are numbers
    else:
        ok = True
    if not ok:
        kind = {bool: "true or false", int: "a whole number", float: "a number", str: "text",
                list: "a list of numbers"}.get(type(default), type(default).__name__)
        raise ConfigError(f"{key} must be {kind} (default {default!r}), got {value!r}")
    return value


def check(condition: bool, message: str) -> None:
    """ConfigError unless condition holds (never `assert`: configs come from users)."""
    if not condition:
        raise ConfigError(message)


@dataclass
class EncoderConfig(ConfigBase):
    """How documents are turned into token states."""

    name: str = option(DEFAULT_ENCODER, "Hugging Face encoder name or local path")
    max_window: int = option(512, "tokens per encoder window, [CLS] and [SEP] included")
    window_overlap: int = option(128, "tokens shared by consecutive windows of a long document")
    marker: str = option("*", "token put before and after every mention (ATLOP's entity marker)")
    freeze_word_embeddings: bool = option(
        True, "keep the encoder's word embeddings fixed; checkpoints then share them with the installed encoder")

    def validate(self) -> None:
        check(self.max_window >= 16, f"max_window must be >= 16, got {self.max_window}")
        check(0 <= self.window_overlap < self.max_window - 2,
              f"window_overlap must be in [0, max_window - 2), got {self.window_overlap}")


@dataclass
class TrainConfig(ConfigBase):
    """The one training loop's settings (shared by every method)."""

    RENAMED: ClassVar[dict[str, str]] = {"lr_head": "lr_classifier"}  # checkpoints before the classifier rename

    epochs: int = option(30, "training epochs")
    batch_size: int = option(4, "documents per optimisation step (before accumulation)")
    grad_accumulation: int = option(1, "batches whose gradients are summed before one optimiser step")
    lr_encoder: float = option(5e-5, "AdamW learning rate of the encoder")
    lr_classifier: float = option(1e-4, "AdamW learning rate of everything above the encoder")
    weight_decay: float = option(0.0, "AdamW weight decay")
    warmup_ratio: float = option(0.06, "share of steps with linear warm-up, then linear decay to 0")
    max_grad_norm: float = option(1.0, "gradient clipping norm (0 = off)")
    seed: int = option(66, "random seed for initialisation, shuffling and label dropping")
    drop_labels: float = option(0.0, "share of training triples hidden (incomplete-labelling experiments)")
    label_seed: int = option(-1, "seed of the hidden-triple draw (-1: the run's seed); fix it so that runs of several "
                             "seeds, and the warm start they continue, hide the same triples")
    deterministic: bool = option(True, "on CPU, the same result at every run and after every resume: PyTorch's "
                                 "deterministic kernels (index_put with accumulation sorts instead of adding "
                                 "atomically across threads)")
    precision: str = option("auto", "training autocast: auto (bf16 on CUDA and on CPUs with native bf16, "
                            "AVX512-BF16 or AMX; fp32 elsewhere), float32 or bfloat16; weights and optimiser stay fp32")
    save_dtype: str = option("float32", "storage of saved weights: float32, float16, bfloat16, or int8 (large "
                             "matrices as int8 with fp16 scales per 128 values, the rest fp16)")

    def validate(self) -> None:
        check(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        check(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        check(self.grad_accumulation >= 1, f"grad_accumulation must be >= 1, got {self.grad_accumulation}")
        check(0.0 <= self.warmup_ratio < 1.0, f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        check(0.0 <= self.drop_labels < 1.0, f"drop_labels must be in [0, 1), got {self.drop_labels}")
        check(self.lr_encoder >= 0 and self.lr_classifier > 0, "learning rates must be positive")
        check(self.precision in TRAIN_PRECISIONS,
              f"unknown training precision {self.precision!r}: expected one of {', '.join(TRAIN_PRECISIONS)}")
        check(self.save_dtype in SAVE_DTYPES, f"unknown save_dtype {self.save_dtype!r}: expected one of {SAVE_DTYPES}")
        check(self.label_seed >= -1, f"label_seed must be -1 (the run's seed) or a seed >= 0, got {self.label_seed}")

    @property
    def hidden_triples_seed(self) -> int:
        """The seed that draws the hidden triples (--drop-labels): label_seed when set, else the run's seed."""
        return self.seed if self.label_seed < 0 else self.label_seed
