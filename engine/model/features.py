"""Documents -> model inputs: word pieces with entity markers, then one padded `Batch` type for every
method (named tensors, no positional tuples). Tokenisation happens once per document; collation is cheap."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np
import torch

from engine.data.documents import ENTITY_TYPES, Document
from engine.data.schema import RelationSchema

ENTITY_TYPE_INDEX = {t: i for i, t in enumerate(ENTITY_TYPES)}


@dataclass(frozen=True)
class DocFeatures:
    """One tokenised document. Positions count the [CLS] at 0; content tokens are 1..len(input_ids)."""

    title: str
    input_ids: tuple[int, ...]  # word pieces with markers, no special tokens
    mention_pos: tuple[int, ...]  # position of each mention's start marker, entities' mentions in order
    mention_end: tuple[int, ...]  # position of each mention's end marker
    mention_sent: tuple[int, ...]  # sentence of each mention
    entity_mentions: tuple[tuple[int, ...], ...]  # per entity, indices into the mention arrays
    entity_types: tuple[int, ...]
    facts: tuple[tuple[int, int, int], ...]  # (h, t, class index); empty for unlabelled documents
    sent_bounds: tuple[tuple[int, int], ...]  # per sentence, [start, end) positions

    @property
    def num_entities(self) -> int:
        return len(self.entity_mentions)

    @property
    def length(self) -> int:
        return len(self.input_ids)


class Tokenizer:
    """Word pieces with ATLOP's entity markers: `marker` before and after every mention."""

    def __init__(self, hf_tokenizer, marker: str = "*") -> None:
        self.hf = hf_tokenizer
        marker_ids = hf_tokenizer.convert_tokens_to_ids(hf_tokenizer.tokenize(marker))
        self.marker_id = int(marker_ids[0])
        self.cls_id = int(hf_tokenizer.cls_token_id if hf_tokenizer.cls_token_id is not None
                          else hf_tokenizer.bos_token_id)
        self.sep_id = int(hf_tokenizer.sep_token_id if hf_tokenizer.sep_token_id is not None
                          else hf_tokenizer.eos_token_id)
        self.pad_id = int(hf_tokenizer.pad_token_id or 0)

    def featurize(self, doc: Document, schema: RelationSchema) -> DocFeatures:
        words = [w for sent in doc.sents for w in sent]
        sent_offset = np.cumsum([0] + [len(s) for s in doc.sents]).tolist()
        starts: dict[int, int] = {}
        ends: dict[int, int] = {}
        for ent in doc.entities:
            for m in ent.mentions:
                g0, g1 = sent_offset[m.sent_id] + m.start, sent_offset[m.sent_id] + m.end - 1
                starts[g0] = starts.get(g0, 0) + 1
                ends[g1] = ends.get(g1, 0) + 1
        pieces = self.hf(words, add_special_tokens=False)["input_ids"] if words else []
        ids: list[int] = []
        word_start: list[int] = []  # position (with [CLS] offset) of the first marker/piece of each word
        word_end: list[int] = []  # position of the last piece/marker of each word
        for w, word_pieces in enumerate(pieces):
            word_start.append(len(ids) + 1)
            ids.extend([self.marker_id] * starts.get(w, 0))
            ids.extend(word_pieces)
            ids.extend([self.marker_id] * ends.get(w, 0))
            word_end.append(len(ids))
        mention_pos, mention_end, mention_sent, entity_mentions = [], [], [], []
        for ent in doc.entities:
            idx = []
            for m in ent.mentions:
                g0, g1 = sent_offset[m.sent_id] + m.start, sent_offset[m.sent_id] + m.end - 1
                idx.append(len(mention_pos))
                mention_pos.append(word_start[g0])
                mention_end.append(word_end[g1])
                mention_sent.append(m.sent_id)
            entity_mentions.append(tuple(idx))
        sent_bounds = tuple((word_start[sent_offset[i]] if len(s) else 1, word_end[sent_offset[i + 1] - 1] + 1 if len(s)
                             else 1)
                            for i, s in enumerate(doc.sents))
        facts = tuple((f.h, f.t, schema.index(f.r)) for f in doc.facts) if doc.facts else ()
        return DocFeatures(doc.title, tuple(ids), tuple(mention_pos), tuple(mention_end), tuple(mention_sent),
                           tuple(entity_mentions),
                           tuple(ENTITY_TYPE_INDEX.get(e.type, ENTITY_TYPE_INDEX["MISC"]) for e in doc.entities),
                           facts, sent_bounds)


def window_starts(length: int, content_window: int, overlap: int) -> list[int]:
    """Content offsets of the windows covering `length` tokens: stride content_window - overlap, the last
    window flush with the end, so every token is covered and no window is shorter than needed."""
    if length <= content_window:
        return [0]
    stride = content_window - overlap
    starts = list(range(0, length - content_window, stride))
    starts.append(length - content_window)
    return starts


@dataclass
class Batch:
    """Padded tensors for a batch of documents. Mentions, entities and pairs are flattened over the batch
    and carry the index of their document; entity and mention indices are global within the batch."""

    window_ids: torch.Tensor  # (n_windows, window_len)
    window_mask: torch.Tensor  # (n_windows, window_len)
    window_pos: torch.Tensor  # (n_windows, window_len) document position of each token, -1 = padding
    window_doc: torch.Tensor  # (n_windows,)
    doc_length: torch.Tensor  # (n_docs,) positions incl. [CLS] and [SEP]
    mention_doc: torch.Tensor  # (n_mentions,)
    mention_pos: torch.Tensor  # (n_mentions,)
    mention_sent: torch.Tensor  # (n_mentions,)
    query_mention: torch.Tensor  # (n_queries,) mention of each (mention, window) attention query
    query_window: torch.Tensor  # (n_queries,)
    query_local: torch.Tensor  # (n_queries,) position of the mention's marker inside that window
    entity_doc: torch.Tensor  # (n_entities,)
    entity_mentions: torch.Tensor  # (n_entities, max_mentions) global mention index, 0 where masked
    entity_mention_mask: torch.Tensor  # (n_entities, max_mentions) bool
    entity_type: torch.Tensor  # (n_entities,)
    pair_doc: torch.Tensor  # (n_pairs,)
    pair_head: torch.Tensor  # (n_pairs,) global entity index
    pair_tail: torch.Tensor  # (n_pairs,)
    doc_pair_offsets: torch.Tensor  # (n_docs + 1,) pairs of doc i are rows offsets[i]:offsets[i+1]
    sent_doc: torch.Tensor  # (n_sents,) document of each sentence
    sent_start: torch.Tensor  # (n_sents,) first position of the sentence (markers included)
    sent_end: torch.Tensor  # (n_sents,) one past its last position
    doc_sent_offsets: torch.Tensor  # (n_docs + 1,) sentences of doc i are sent_offsets[i]:sent_offsets[i+1]
    labels: torch.Tensor | None  # (n_pairs, n_classes) multi-hot, column 0 = 1 iff no relation

    @property
    def num_docs(self) -> int:
        return int(self.doc_length.shape[0])

    @property
    def num_pairs(self) -> int:
        return int(self.pair_head.shape[0])

    def select_pairs(self, rows: slice) -> "Batch":
        """The same documents, mentions and entities with only the pairs rows.start:rows.stop (contiguous, so
        still grouped by document): inference scores a huge document's pairs a chunk at a time."""
        start, stop, _ = rows.indices(self.num_pairs)
        offsets = (self.doc_pair_offsets - start).clamp(0, max(stop - start, 0))  # (n_docs + 1,)
        return dataclasses.replace(
            self, pair_doc=self.pair_doc[start:stop], pair_head=self.pair_head[start:stop],
            pair_tail=self.pair_tail[start:stop], doc_pair_offsets=offsets,
            labels=None if self.labels is None else self.labels[start:stop])

    def to(self, device: torch.device | str) -> "Batch":
        moved = {f.name: (v.to(device, non_blocking=True) if isinstance(v := getattr(self, f.name), torch.Tensor)
                          else v)
                 for f in fields(self)}
        return Batch(**moved)


def collate(features: Sequence[DocFeatures], tokenizer: Tokenizer, *, max_window: int, overlap: int,
            num_classes: int, with_labels: bool, hidden_facts: Sequence[frozenset] | None = None) -> Batch:
    """Pack documents into one Batch. `hidden_facts[i]` lists (h, t, class) triples of doc i to treat as
    unlabelled (incomplete-labelling experiments)."""
    content = max_window - 2
    win_rows, win_pos_rows, win_doc, win_start = [], [], [], []
    for d, f in enumerate(features):
        n = f.length
        for s in window_starts(n, content, overlap):
            chunk = list(f.input_ids[s:s + content])
            win_rows.append([tokenizer.cls_id] + chunk + [tokenizer.sep_id])
            win_pos_rows.append([0] + list(range(s + 1, s + 1 + len(chunk))) + [n + 1])
            win_doc.append(d)
            win_start.append(s)
    width = max(len(r) for r in win_rows)
    window_ids = torch.full((len(win_rows), width), tokenizer.pad_id, dtype=torch.long)
    window_pos = torch.full((len(win_rows), width), -1, dtype=torch.long)
    for w, (row, pos) in enumerate(zip(win_rows, win_pos_rows)):
        window_ids[w, :len(row)] = torch.tensor(row)
        window_pos[w, :len(pos)] = torch.tensor(pos)

    mention_doc, mention_pos, mention_sent = [], [], []
    q_mention, q_window, q_local = [], [], []
    entity_doc, entity_lists, entity_type = [], [], []
    pair_doc, pair_head, pair_tail, offsets = [], [], [], [0]
    sent_doc, sent_start, sent_end, sent_offsets = [], [], [], [0]
    label_rows: list[np.ndarray] = []
    doc_windows = [[w for w in range(len(win_doc)) if win_doc[w] == d] for d in range(len(features))]
    for d, f in enumerate(features):
        m0, e0 = len(mention_doc), len(entity_doc)
        for start, end in f.sent_bounds:
            sent_doc.append(d)
            sent_start.append(start)
            sent_end.append(max(end, start + 1))
        sent_offsets.append(len(sent_doc))
        for pos, sent in zip(f.mention_pos, f.mention_sent):
            m = len(mention_doc)
            mention_doc.append(d)
            mention_pos.append(pos)
            mention_sent.append(sent)
            for w in doc_windows[d]:  # every window whose content holds the marker
                if win_start[w] < pos <= win_start[w] + len(win_rows[w]) - 2:
                    q_mention.append(m)
                    q_window.append(w)
                    q_local.append(pos - win_start[w])
        for mentions, etype in zip(f.entity_mentions, f.entity_types):
            entity_doc.append(d)
            entity_lists.append([m0 + i for i in mentions])
            entity_type.append(etype)
        n_e = f.num_entities
        hs, ts = np.nonzero(~np.eye(n_e, dtype=bool))  # every ordered pair h != t, row-major
        pair_doc.extend([d] * len(hs))
        pair_head.extend((hs + e0).tolist())
        pair_tail.extend((ts + e0).tolist())
        offsets.append(offsets[-1] + len(hs))
        if with_labels:
            rows = np.zeros((n_e, n_e, num_classes), dtype=np.float32)
            hidden = hidden_facts[d] if hidden_facts is not None else frozenset()
            for h, t, c in f.facts:
                if (h, t, c) not in hidden:
                    rows[h, t, c] = 1.0
            rows = rows[hs, ts]  # (n_pairs_doc, n_classes)
            rows[:, 0] = (rows[:, 1:].sum(1) == 0)
            label_rows.append(rows)
    max_m = max((len(x) for x in entity_lists), default=1)
    ent_m = torch.zeros((len(entity_lists), max_m), dtype=torch.long)
    ent_mask = torch.zeros((len(entity_lists), max_m), dtype=torch.bool)
    for e, ms in enumerate(entity_lists):
        ent_m[e, :len(ms)] = torch.tensor(ms)
        ent_mask[e, :len(ms)] = True
    lt = lambda x: torch.tensor(x, dtype=torch.long)  # noqa: E731
    labels = torch.from_numpy(np.concatenate(label_rows)) if with_labels and label_rows else None
    return Batch(
        window_ids=window_ids, window_mask=window_pos >= 0, window_pos=window_pos, window_doc=lt(win_doc),
        doc_length=lt([f.length + 2 for f in features]),
        mention_doc=lt(mention_doc), mention_pos=lt(mention_pos), mention_sent=lt(mention_sent),
        query_mention=lt(q_mention), query_window=lt(q_window), query_local=lt(q_local),
        entity_doc=lt(entity_doc), entity_mentions=ent_m, entity_mention_mask=ent_mask, entity_type=lt(entity_type),
        pair_doc=lt(pair_doc), pair_head=lt(pair_head), pair_tail=lt(pair_tail), doc_pair_offsets=lt(offsets),
        sent_doc=lt(sent_doc), sent_start=lt(sent_start), sent_end=lt(sent_end), doc_sent_offsets=lt(sent_offsets),
        labels=labels,
    )
