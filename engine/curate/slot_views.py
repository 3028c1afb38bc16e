"""Each model slot's margins and probabilities read straight from its models' PairScores rows, where the review
queue asks for them, instead of spread on dense (slot, head, tail, relation) grids.

The dense float64 grids cost slots x entities^2 x relations x 8 bytes each (about 0.9 GB per grid for six slots
at 540 entities), most of it for slots no model filled and for cells no candidate reads. Here a model costs one
(n_e, n_e) row index; the whole-document questions (which triples are candidates, which the models predict,
the chain rules' margins) are answered in blocks of head entities of about `BLOCK_CELLS` cells; everything
else is gathered per candidate. The arithmetic is the grids', operation for operation (a slot of several
models sums each one's float32 value divided by their number into float64, in order), so every value is the
one the grids gave; the one difference is the sign of a zero where every model's margin was exactly -0.0."""
from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine.data.pair_scores import PairScores

BLOCK_CELLS = 1 << 19  # (head, tail, relation) cells per block of a whole-document scan: 4 MB per float64 array


def block_rows(width: int) -> int:
    """How many rows of `width` cells make one block."""
    return max(1, BLOCK_CELLS // max(1, width))


@dataclass(frozen=True)
class _Model:
    """One model's scores with the lookups that place them on the (head, tail, relation) grid."""

    scores: PairScores
    rows: np.ndarray  # (n_e, n_e) int64: the row of pair (h, t) in scores, -1 where it has none
    cols: np.ndarray  # (n_rel,) int64: the column of each grid relation in scores.relation_ids, -1 where it lacks it
    share: int  # models in its slot: each adds value / share (the slot's mean)

    @classmethod
    def of(cls, ps: PairScores, rel_pos: Mapping[str, int], n_e: int, share: int) -> "_Model":
        rows = np.full((n_e, n_e), -1, dtype=np.int64)
        rows[ps.heads, ps.tails] = np.arange(len(ps.heads))
        cols = np.full(len(rel_pos), -1, dtype=np.int64)
        for c, r in enumerate(ps.relation_ids):
            if r in rel_pos:
                cols[rel_pos[r]] = c
        return cls(ps, rows, cols, share)

    def add(self, acc: np.ndarray, hs: np.ndarray, ts: np.ndarray, ks: np.ndarray, prob: bool) -> np.ndarray:
        """`acc` (NaN = nothing yet) plus this model's margin (or probability) / share where it scored (h, t, k);
        hs, ts and ks broadcast to acc's shape."""
        r, c = self.rows[hs, ts], self.cols[ks]
        there = (r >= 0) & (c >= 0)
        if not there.any():
            return acc
        r, c = np.where(r >= 0, r, 0), np.where(c >= 0, c, 0) + 1  # logits' and probabilities' column 0: threshold
        logits = self.scores.probabilities if prob else self.scores.logits
        value = logits[r, c] if prob else logits[r, c] - logits[r, 0]  # PairScores.margins, cell by cell
        return np.where(there, np.nan_to_num(acc) + value / self.share, acc)


@dataclass(frozen=True)
class SlotViews:
    """The slots that scored a document (in the ranker's slot order) and their models; unscored slots hold
    nothing: their feature columns stay NaN."""

    relation_ids: tuple[str, ...]
    n_e: int
    positions: tuple[int, ...]  # (n_scored,) each scored slot's position among the ranker's slots
    models: tuple[tuple[_Model, ...], ...]  # (n_scored,) the models of each scored slot, in their given order

    @classmethod
    def build(cls, n_e: int, by_slot: Mapping[str, Sequence[PairScores]], slots: Sequence[str],
              relation_ids: tuple[str, ...]) -> "SlotViews":
        rel_pos = {r: k for k, r in enumerate(relation_ids)}
        scored = [(s, by_slot[slot]) for s, slot in enumerate(slots) if by_slot.get(slot)]
        return cls(relation_ids, n_e, tuple(s for s, _ in scored),
                   tuple(tuple(_Model.of(ps, rel_pos, n_e, len(group)) for ps in group) for _, group in scored))

    def values(self, hs: np.ndarray, ts: np.ndarray, ks: np.ndarray, prob: bool = False) -> np.ndarray:
        """(n_scored, *shape) float64 margins (or probabilities) at the broadcast cells (hs, ts, ks); NaN where
        a slot's models did not score the cell."""
        shape = np.broadcast_shapes(np.shape(hs), np.shape(ts), np.shape(ks))
        out = np.full((len(self.models), *shape), np.nan)
        for s, group in enumerate(self.models):
            for model in group:
                out[s] = model.add(out[s], hs, ts, ks, prob)
        return out

    def blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        """(h0, margins) for consecutive blocks of head entities: margins (n_scored, n_heads, n_e, n_rel)."""
        n_rel = len(self.relation_ids)
        step = block_rows(self.n_e * n_rel)
        ts, ks = np.arange(self.n_e)[None, :, None], np.arange(n_rel)[None, None, :]
        for h0 in range(0, self.n_e, step):
            hs = np.arange(h0, min(self.n_e, h0 + step))[:, None, None]  # (n_heads, 1, 1)
            yield h0, self.values(hs, ts, ks)


def best_of(margins: np.ndarray) -> np.ndarray:
    """(...) the best margin over the slots, -inf where none scored (the grids' max over slots filled with -inf)."""
    if not len(margins):
        return np.full(margins.shape[1:], -np.inf)
    return np.where(np.isnan(margins), -np.inf, margins).max(axis=0)


def mean_of(margins: np.ndarray) -> np.ndarray:
    """(...) the mean margin over the slots that scored, -inf where none did."""
    if not len(margins):
        return np.full(margins.shape[1:], -np.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nan_to_num(np.nanmean(margins, axis=0), nan=-np.inf)


def top_k_mask(best: np.ndarray, top_k: int) -> np.ndarray:
    """(..., n_rel) True for the `top_k` relations of each pair by `best`, ties to the earlier relation (the
    grids' stable double argsort, rank < top_k, with one sort and no rank array)."""
    mask = np.zeros(best.shape, dtype=bool)
    if top_k > 0:
        order = np.argsort(-best, axis=-1, kind="stable")[..., :top_k]  # (..., min(top_k, n_rel))
        np.put_along_axis(mask, order, True, axis=-1)
    return mask


def stable_ranks(rows: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """(n,) the rank of relation ks[i] in rows[i] (n, n_rel) by margin, best first, ties to the earlier
    relation, NaN counted as -inf: the position a stable descending sort gives it, without sorting."""
    filled = np.where(np.isnan(rows), -np.inf, rows)
    at = np.take_along_axis(filled, ks[:, None], axis=1)  # (n, 1)
    earlier = np.arange(rows.shape[1])[None, :] < ks[:, None]  # (n, n_rel)
    return ((filled > at) | ((filled == at) & earlier)).sum(axis=1).astype(np.float64)
