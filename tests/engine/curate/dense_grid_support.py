"""The review queue's candidates as engine.curate.candidate_features built them before its score reading went
sparse: dense (slot, head, tail, relation) float64 grids for every slot. Kept, unchanged, as the oracle the new
reading must match exactly (tests/engine/curate/test_candidate_memory.py); never used by the engine."""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine.curate.candidate_features import (
    _RELATION_CODES,
    STATIC_COMMON,
    DocumentCandidates,
    Pool,
    slot_scores,
)
from engine.curate.relation_logic import chain_support, reverse_support
from engine.curate.type_stats import TypeStats
from engine.data.documents import ENTITY_TYPES, Document, Triple
from engine.data.pair_scores import PairScores
from engine.data.schema import default_schema


def reference_candidates(doc: Document, per_model: Mapping[str, PairScores], *, slots: Sequence[str],
                         pool: Pool = Pool(), type_stats: TypeStats | None = None,
                         missing_rates: Mapping[str, float] | None = None, exclude: Iterable[Triple] = (),
                         only: Iterable[Triple] | None = None) -> DocumentCandidates:
    """engine.curate.candidate_features.document_candidates as it was, on dense grids."""
    grid = _Grids.build(doc, slot_scores(per_model, slots), slots)
    n_e = doc.num_entities
    labelled = {(f.h, f.t, f.r) for f in doc.facts or ()}
    rel_pos = {r: k for k, r in enumerate(grid.relation_ids)}
    if only is not None:
        picked = [(h, t, rel_pos[r]) for h, t, r in only if r in rel_pos and h != t and max(h, t) < n_e]
        hs, ts, ks = (np.array(v, dtype=np.int64) for v in zip(*picked)) if picked else (np.zeros(0, np.int64),) * 3
    else:
        mask = (grid.best > -pool.band) | (grid.best_rank < pool.top_k)  # (n_e, n_e, n_rel)
        mask[np.arange(n_e), np.arange(n_e), :] = False
        for h, t, r in (*labelled, *exclude):
            if r in rel_pos and max(h, t) < n_e:
                mask[h, t, rel_pos[r]] = False
        hs, ts, ks = np.nonzero(mask)
    static = grid.static_features(doc, hs, ts, ks, type_stats, missing_rates or {})
    mean_margin = np.nan_to_num(static[:, STATIC_COMMON.index("mean_margin") + 3 * len(slots)], nan=-np.inf)
    ph, pt, pk = np.nonzero(grid.mean > 0)
    predicted = frozenset((h, t, grid.relation_ids[k]) for h, t, k in zip(ph.tolist(), pt.tolist(), pk.tolist()))
    return DocumentCandidates(doc.title, hs, ts, tuple(grid.relation_ids[k] for k in ks.tolist()), static, mean_margin,
                              predicted)


@dataclass(frozen=True)
class _Grids:
    """Every slot's margins, probabilities and ranks on one (slot, head, tail, relation) grid, NaN = unscored."""

    relation_ids: tuple[str, ...]
    margins: np.ndarray  # (n_slots, n_e, n_e, n_rel)
    probs: np.ndarray  # (n_slots, n_e, n_e, n_rel)
    ranks: np.ndarray  # (n_slots, n_e, n_e, n_rel), 0 = the pair's best relation for that slot
    best: np.ndarray  # (n_e, n_e, n_rel) best margin over slots, -inf where none scored
    best_rank: np.ndarray  # (n_e, n_e, n_rel) rank of r by the best margin
    key_max: np.ndarray  # (n_e, n_e) KMGRE best key-mention probability, NaN where absent
    key_rel: np.ndarray  # (n_e, n_e, n_rel) relation probability at that mention pair
    potential: np.ndarray  # (n_e, n_e) PAEE pair potential, NaN where absent
    mean: np.ndarray  # (n_e, n_e, n_rel) mean margin over the slots that scored, -inf where none did

    @classmethod
    def build(cls, doc: Document, by_slot: Mapping[str, Sequence[PairScores]], slots: Sequence[str]) -> "_Grids":
        first = next((ps for group in by_slot.values() for ps in group), None)
        relation_ids = first.relation_ids if first is not None else default_schema().relation_ids
        n_e, n_rel = doc.num_entities, len(relation_ids)
        shape = (len(slots), n_e, n_e, n_rel)
        margins, probs = np.full(shape, np.nan), np.full(shape, np.nan)
        key_max, potential = np.full((n_e, n_e), np.nan), np.full((n_e, n_e), np.nan)
        key_rel = np.full((n_e, n_e, n_rel), np.nan)
        rel_pos = {r: k for k, r in enumerate(relation_ids)}
        for s, slot in enumerate(slots):
            group = by_slot.get(slot, ())
            for ps in group:
                cols = np.array([rel_pos.get(r, -1) for r in ps.relation_ids])
                keep = cols >= 0
                h, t = ps.heads[:, None], ps.tails[:, None]  # (n_pairs, 1)
                m = np.nan_to_num(margins[s, h, t, cols[keep][None, :]]) + ps.margins[:, keep] / len(group)
                p = np.nan_to_num(probs[s, h, t, cols[keep][None, :]]) + ps.probabilities[:, 1:][:, keep] / len(group)
                margins[s, h, t, cols[keep][None, :]] = m  # (n_pairs, n_kept) into the grid
                probs[s, h, t, cols[keep][None, :]] = p
                pair_values = ps.extra("pair_values")
                if pair_values is not None and np.isnan(potential).all():
                    potential[ps.heads, ps.tails] = pair_values.values
                if ps.extra("mention_grids") is not None and np.isnan(key_max).all():
                    _fill_key_mentions(ps, rel_pos, key_max, key_rel)
        filled = np.where(np.isnan(margins), -np.inf, margins)
        ranks = np.argsort(np.argsort(-filled, axis=-1, kind="stable"), axis=-1, kind="stable").astype(np.float64)
        ranks[np.isnan(margins)] = np.nan
        best = filled.max(axis=0)  # (n_e, n_e, n_rel)
        best_rank = np.argsort(np.argsort(-best, axis=-1, kind="stable"), axis=-1, kind="stable")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nan_to_num(np.nanmean(margins, axis=0), nan=-np.inf)
        return cls(relation_ids, margins, probs, ranks, best, best_rank, key_max, key_rel, potential, mean)

    def static_features(self, doc: Document, hs: np.ndarray, ts: np.ndarray, ks: np.ndarray,
                        type_stats: TypeStats | None, missing_rates: Mapping[str, float]) -> np.ndarray:
        n_slots = self.margins.shape[0]
        out = np.full((len(hs), 3 * n_slots + len(STATIC_COMMON)), np.nan, dtype=np.float32)
        m = self.margins[:, hs, ts, ks]  # (n_slots, n)
        out[:, 0:3 * n_slots:3] = m.T
        out[:, 1:3 * n_slots:3] = self.probs[:, hs, ts, ks].T
        out[:, 2:3 * n_slots:3] = self.ranks[:, hs, ts, ks].T
        c = {name: 3 * n_slots + i for i, name in enumerate(STATIC_COMMON)}
        scored = ~np.isnan(m)
        n_scored = scored.sum(axis=0)
        out[:, c["n_scored"]] = n_scored
        out[:, c["n_above"]] = (np.nan_to_num(m, nan=-np.inf) > 0).sum(axis=0)
        with warnings.catch_warnings():  # a triple no slot scored (a decision outside the models) stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            out[:, c["mean_margin"]] = np.nanmean(m, axis=0)
            out[:, c["max_margin"]] = np.nanmax(m, axis=0)
            out[:, c["min_margin"]] = np.nanmin(m, axis=0)
            out[:, c["std_margin"]] = np.nanstd(m, axis=0)
            out[:, c["mean_prob"]] = np.nanmean(self.probs[:, hs, ts, ks], axis=0)
            out[:, c["best_rank"]] = np.nanmin(self.ranks[:, hs, ts, ks], axis=0)
            pair_mean = np.nanmean(self.margins[:, hs, ts, :], axis=0)  # (n, n_rel)
            out[:, c["pair_best_margin"]] = pair_mean.max(axis=1)
            out[:, c["gap_to_pair_best"]] = out[:, c["mean_margin"]] - out[:, c["pair_best_margin"]]
        out[:, c["key_mention_max"]] = self.key_max[hs, ts]
        out[:, c["key_mention_rel_prob"]] = self.key_rel[hs, ts, ks]
        out[:, c["pair_potential"]] = self.potential[hs, ts]
        types = [e.type for e in doc.entities]
        type_code = np.array([ENTITY_TYPES.index(t) if t in ENTITY_TYPES else np.nan for t in types])
        n_mentions = np.array([len(e.mentions) for e in doc.entities], dtype=np.float64)
        sents = [np.array(sorted({m.sent_id for m in e.mentions})) for e in doc.entities]
        out[:, c["head_type"]] = type_code[hs]
        out[:, c["tail_type"]] = type_code[ts]
        out[:, c["head_mentions"]] = n_mentions[hs]
        out[:, c["tail_mentions"]] = n_mentions[ts]
        out[:, c["n_entities"]] = doc.num_entities
        distance: dict[tuple[int, int], int] = {}
        for i, (h, t, k) in enumerate(zip(hs.tolist(), ts.tolist(), ks.tolist())):
            key = (min(h, t), max(h, t))
            if key not in distance:
                distance[key] = int(np.abs(sents[h][:, None] - sents[t][None, :]).min())
            out[i, c["sentence_distance"]] = distance[key]
            r = self.relation_ids[k]
            out[i, c["relation"]] = _RELATION_CODES.get(r, np.nan)
            out[i, c["relation_missing_rate"]] = missing_rates.get(r, np.nan)
            if type_stats is not None:
                seen = type_stats.counts.get(r)
                if seen:
                    n = seen.get((types[h], types[t]), 0)
                    out[i, c["type_fit"]] = float(n > 0)
                    out[i, c["type_count"]] = np.log1p(n)
                    out[i, c["relation_count"]] = np.log1p(sum(seen.values()))
                else:
                    out[i, c["relation_count"]] = 0.0
        out[:, c["same_sentence"]] = out[:, c["sentence_distance"]] == 0
        self._rule_margins(hs, ts, ks, out[:, c["reverse_rule_margin"]], out[:, c["chain_rule_margin"]])
        return out

    def _rule_margins(self, hs: np.ndarray, ts: np.ndarray, ks: np.ndarray, reverse: np.ndarray,
                      chain: np.ndarray) -> None:
        """The models' own support for a candidate through relation logic (the label-free twin of the rule_*
        features): the best mean margin of a reverse triple that entails it, and over intermediate entities m
        the best min(margin(h, m, a), margin(m, t, b)) of a chain that entails it. NaN where no rule applies."""
        mean = self.mean
        rel_pos = {r: k for k, r in enumerate(self.relation_ids)}
        n_e = mean.shape[0]
        for k in np.unique(ks).tolist():
            rows = np.nonzero(ks == k)[0]
            h, t = hs[rows], ts[rows]
            relation = self.relation_ids[k]
            inverse = [rel_pos[r] for r in reverse_support(relation) if r in rel_pos]
            if inverse:
                reverse[rows] = _finite_or_nan(mean[t, h][:, inverse].max(axis=1))
            chains = [(rel_pos[a], rel_pos[b]) for a, b in chain_support(relation) if a in rel_pos and b in rel_pos]
            if chains and n_e > 2:
                best = np.full(len(rows), -np.inf)
                for a, b in chains:
                    via = np.minimum(mean[h, :, a], mean[:, t, b].T)  # (n, n_e): through each entity m
                    via[np.arange(len(rows)), h] = -np.inf
                    via[np.arange(len(rows)), t] = -np.inf
                    best = np.maximum(best, via.max(axis=1))
                chain[rows] = _finite_or_nan(best)


def _finite_or_nan(values: np.ndarray) -> np.ndarray:
    """-inf (nothing scored there) as NaN, the ranker's missing value."""
    return np.where(np.isfinite(values), values, np.nan)


def _fill_key_mentions(ps: PairScores, rel_pos: Mapping[str, int], key_max: np.ndarray, key_rel: np.ndarray) -> None:
    """Per pair, KMGRE's best key-mention probability and the mention-level relation probabilities there."""
    cols = np.array([rel_pos.get(r, -1) for r in ps.relation_ids])
    keep = cols >= 0
    grids = ps.extra("mention_grids").grids
    for p, (h, t) in enumerate(zip(ps.heads.tolist(), ps.tails.tolist())):
        grid = grids[p]
        key = grid.key_probability  # (n_head_mentions, n_tail_mentions)
        if key.size == 0:
            continue
        i, j = np.unravel_index(int(np.argmax(key)), key.shape)
        key_max[h, t] = key[i, j]
        rel = grid.relation_probability[i, j]  # (n_rel,)
        key_rel[h, t, cols[keep]] = rel[keep]
