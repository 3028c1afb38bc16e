"""BERT-family encoders for inference without importing transformers: the model in plain PyTorch, the
tokenizer straight from the `tokenizers` library.

Why: a cold `python -m engine predict` spent more time importing transformers (which pulls in torch._dynamo,
sympy and scipy) than scoring the document: 1.5 s of 6.6 s on an AVX512 EPYC, about 4 s of 11 s on an AVX2
one. Importing `tokenizers` takes 0.05 s. The modules below carry the Hugging Face parameter names, so a
checkpoint's state dict loads unchanged, and compute what BertModel computes (same operations in the same
order, SDPA attention); tests check both against transformers. Anything this does not cover exactly (another
architecture, relative positions, another activation, a tokenizer without tokenizer.json or whose settings
disagree with its tokenizer_config.json) loads through transformers as before."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import CheckpointError
from engine.model.meta_build import allocate_uninitialised, shapes_only

ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}  # transformers' ACT2FN for these names: exact erf GELU, ReLU
SPECIAL_TOKENS = ("cls_token", "sep_token", "pad_token", "bos_token", "eos_token")


@dataclass
class LeanBertConfig:
    """The fields of a BERT config.json the forward pass reads (mutable, like transformers' configs)."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    hidden_act: str
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    pad_token_id: int
    hidden_dropout_prob: float
    attention_probs_dropout_prob: float
    position_embedding_type: str = "absolute"
    _attn_implementation: str = "sdpa"

    @classmethod
    def read(cls, directory: Path) -> "LeanBertConfig | None":
        """The config of a plain BERT encoder in `directory`, or None when this module does not cover it."""
        try:
            raw = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        covered = (isinstance(raw, dict) and raw.get("model_type") == "bert" and not raw.get("is_decoder")
                   and raw.get("position_embedding_type", "absolute") == "absolute"
                   and raw.get("hidden_act", "gelu") in ACTIVATIONS and not raw.get("add_cross_attention"))
        if not covered:
            return None
        try:
            return cls(vocab_size=int(raw["vocab_size"]), hidden_size=int(raw["hidden_size"]),
                       num_hidden_layers=int(raw["num_hidden_layers"]),
                       num_attention_heads=int(raw["num_attention_heads"]),
                       intermediate_size=int(raw["intermediate_size"]), hidden_act=str(raw.get("hidden_act", "gelu")),
                       max_position_embeddings=int(raw.get("max_position_embeddings", 512)),
                       type_vocab_size=int(raw.get("type_vocab_size", 2)),
                       layer_norm_eps=float(raw.get("layer_norm_eps", 1e-12)),
                       pad_token_id=int(raw.get("pad_token_id") or 0),
                       hidden_dropout_prob=float(raw.get("hidden_dropout_prob", 0.1)),
                       attention_probs_dropout_prob=float(raw.get("attention_probs_dropout_prob", 0.1)))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass
class LeanOutput:
    """What DocumentEncoder reads of transformers' BaseModelOutput."""

    last_hidden_state: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...] | None


class Embeddings(nn.Module):
    def __init__(self, c: LeanBertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        length = input_ids.shape[1]
        positions = torch.arange(length, device=input_ids.device)[None, :]
        token_types = torch.zeros_like(positions)  # one segment, as DocumentEncoder passes none
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_types)
        x = x + self.position_embeddings(positions)
        return self.dropout(self.LayerNorm(x))


class SelfAttention(nn.Module):
    def __init__(self, c: LeanBertConfig) -> None:
        super().__init__()
        self.num_heads, self.head_dim = c.num_attention_heads, c.hidden_size // c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout_p = c.attention_probs_dropout_prob

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        shape = (*x.shape[:-1], self.num_heads, self.head_dim)
        q, k, v = (proj(x).view(shape).transpose(1, 2) for proj in (self.query, self.key, self.value))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                             dropout_p=self.dropout_p if self.training else 0.0,
                                             scale=self.head_dim ** -0.5)
        return out.transpose(1, 2).reshape(x.shape)


class ResidualNorm(nn.Module):
    """dense -> dropout -> LayerNorm(+ residual): BERT's SelfOutput and Output."""

    def __init__(self, c: LeanBertConfig, inner: int) -> None:
        super().__init__()
        self.dense = nn.Linear(inner, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Attention(nn.Module):
    def __init__(self, c: LeanBertConfig) -> None:
        super().__init__()
        self.self = SelfAttention(c)
        self.output = ResidualNorm(c, c.hidden_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.output(self.self(x, mask), x)


class Intermediate(nn.Module):
    def __init__(self, c: LeanBertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.act = ACTIVATIONS[c.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(x))


class Layer(nn.Module):
    def __init__(self, c: LeanBertConfig) -> None:
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = ResidualNorm(c, c.intermediate_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        attended = self.attention(x, mask)
        return self.output(self.intermediate(attended), attended)


class Encoder(nn.Module):
    def __init__(self, c: LeanBertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(c) for _ in range(c.num_hidden_layers))


class LeanBertModel(nn.Module):
    """transformers' BertModel without the pooler, for the calls DocumentEncoder makes."""

    def __init__(self, config: LeanBertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = Encoder(config)
        self.pooler = None

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                output_hidden_states: bool = False, output_attentions: bool = False) -> LeanOutput:
        if output_attentions:
            raise ValueError("LeanBertModel recomputes attention rows instead (DocumentEncoder._attention_rows)")
        # padding keys masked out for every query; None when nothing is padded (SDPA's fastest path)
        mask = None if attention_mask is None or bool(attention_mask.all()) else attention_mask.bool()[:, None, None, :]
        x = self.embeddings(input_ids)
        states = [x]
        for layer in self.encoder.layer:
            x = layer(x, mask)
            states.append(x)
        return LeanOutput(last_hidden_state=x, hidden_states=tuple(states) if output_hidden_states else None)

    def load_pretrained(self, directory: Path, only: frozenset[str] | None = None) -> None:
        """The encoder's own weights from model.safetensors (keys with or without a `bert.` prefix; the pooler
        and old position_ids buffers are not part of this model), assigned as the parameters. only: read just
        these names (the weights a checkpoint omits); the others must come from the checkpoint."""
        from safetensors import safe_open  # noqa: PLC0415

        path = directory / "model.safetensors"
        own = self.state_dict()
        wanted = set(own) if only is None else set(only)
        state = {}
        try:
            with safe_open(str(path), "pt") as f:
                for key in f.keys():  # safe_open is not a mapping
                    name = key.removeprefix("bert.")
                    if name in wanted and name in own:
                        state[name] = f.get_tensor(key).to(own[name].dtype)
        except (OSError, ValueError, RuntimeError) as exc:
            raise CheckpointError(f"cannot read the encoder weights {path}: {exc}") from exc
        missing = sorted(wanted - set(state))
        if missing:
            raise CheckpointError(f"{path}: not a BERT encoder's weights: missing {missing[:5]}")
        wrong = [k for k in state if state[k].shape != own[k].shape]
        if wrong:
            raise CheckpointError(f"{path}: tensor {wrong[0]!r} has shape {list(state[wrong[0]].shape)}, its "
                                  f"config.json makes {list(own[wrong[0]].shape)}")
        self.load_state_dict(state, strict=only is None, assign=True)  # the file's tensors become the parameters


class LeanTokenizer:
    """The calls features.Tokenizer makes of a Hugging Face fast tokenizer, on `tokenizers` directly. Truncation
    and padding stored in tokenizer.json are switched off: transformers does the same per call unless asked."""

    def __init__(self, backend: Any, special: dict[str, str | None]) -> None:
        self.backend = backend
        backend.no_truncation()
        backend.no_padding()
        for name in SPECIAL_TOKENS:
            token = special.get(name)
            setattr(self, f"{name}_id", None if token is None else backend.token_to_id(token))

    def __call__(self, texts: list[str], add_special_tokens: bool = False) -> dict[str, list[list[int]]]:
        return {"input_ids": [e.ids for e in self.backend.encode_batch(texts, add_special_tokens=add_special_tokens)]}

    def tokenize(self, text: str) -> list[str]:
        return self.backend.encode(text, add_special_tokens=False).tokens

    def convert_tokens_to_ids(self, tokens: list[str]) -> list[int]:
        return [self.backend.token_to_id(t) for t in tokens]

    @classmethod
    def read(cls, directory: Path) -> "LeanTokenizer | None":
        """The tokenizer in `directory`, or None unless tokenizer.json is there and its normaliser agrees with
        tokenizer_config.json (transformers rebuilds a BERT normaliser that disagrees; this does not)."""
        try:
            from tokenizers import Tokenizer  # noqa: PLC0415

            backend = Tokenizer.from_file(str(directory / "tokenizer.json"))
            settings = _json_object(directory / "tokenizer_config.json")
            special = {**settings, **_json_object(directory / "special_tokens_map.json")}
        except Exception:  # noqa: BLE001 - a missing or unreadable tokenizer: transformers loads it instead
            return None
        normaliser = json.loads(backend.normalizer.__getstate__()) if backend.normalizer is not None else {}
        expected = {"lowercase": settings.get("do_lower_case", True), "strip_accents": settings.get("strip_accents"),
                    "handle_chinese_chars": settings.get("tokenize_chinese_chars", True)}
        if normaliser.get("type") != "BertNormalizer" or any(normaliser.get(k) != v for k, v in expected.items()):
            return None
        tokens = {name: _token_text(special.get(name)) for name in SPECIAL_TOKENS}
        if tokens["cls_token"] is None or tokens["sep_token"] is None:
            return None
        return cls(backend, tokens)


def _json_object(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    value = json.loads(path.read_text(encoding="utf-8"))
    return value if isinstance(value, dict) else {}


def _token_text(value: Any) -> str | None:
    """A special token as tokenizer configs write it: a string or {"content": ...}."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def load_lean(directory: Path, *, pretrained_weights: bool,
              only: frozenset[str] | None = None) -> tuple[LeanTokenizer, LeanBertModel] | None:
    """(tokenizer, model) for a local BERT encoder directory this module covers, else None. only: of the
    pre-trained weights, read just these; the rest is allocated uninitialised for a checkpoint to fill (the
    caller checks that it holds every one of them)."""
    config = LeanBertConfig.read(directory)
    tokenizer = LeanTokenizer.read(directory) if config is not None else None
    if config is None or tokenizer is None:
        return None
    if not pretrained_weights:
        return tokenizer, LeanBertModel(config).eval()
    with shapes_only():  # weights come from the files: no initialisation, no copy
        model = LeanBertModel(config)
    if only is not None:
        allocate_uninitialised(model)
    model.load_pretrained(directory, only)
    return tokenizer, model.eval()
