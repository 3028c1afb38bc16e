"""Candidate triples of a labelled document and the features the review ranker reads about each one.

A candidate is a triple (h, t, r) absent from the labels that at least one model puts within `band` of
its threshold, or among the `top_k` relations of its pair (a `Pool`). Its features come in two blocks:

- static, from the scores and the text (computed once): per model slot the margin, the method's own
  probability and the rank of r among the pair's relations; agreement (models above threshold) and the
  mean / max / min / spread of margins; KMGRE's best key-mention probability and the relation probability
  at that mention pair; PAEE's pair potential; entity types, mention counts, shared sentence and sentence
  distance; type fit against training statistics; the relation and how often it goes missing; the models'
  own support through relation logic (the mean margin of a reverse triple or of the weaker link of a chain
  that would entail the candidate);
- label-dependent, from the labels as they stand (recomputed after every accepted decision, which is how
  an accepted P150 lifts its inverse P131): labels already on the pair and on the reverse pair, the same
  relation reversed, which relation-logic rules fire, and how labelled the two entities and the document are.

Model slots are method families ("paee" for "paee.v1"), not directory names, so the app's run names
("paee.v1#3") and the CLI's ("paee") meet the same ranker; two models of one family are averaged. No list of
slots is written by hand: a ranker is trained on the families of the models that scored its data (the catalogue)
and records them in its ranker.json, which is where scoring reads them."""
from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine.curate.relation_logic import CHAIN, RuleIndex, chain_support, reverse_support
from engine.curate.relation_stats import LabelContext, RelationStats
from engine.curate.slot_views import SlotViews, best_of, block_rows, mean_of, stable_ranks, top_k_mask
from engine.curate.type_stats import TypeStats
from engine.data.documents import ENTITY_TYPES, Document, Triple
from engine.data.pair_scores import PairScores
from engine.data.schema import default_schema

log = logging.getLogger(__name__)
FEATURE_VERSION = 2  # 2: reverse_rule_margin and chain_rule_margin
PER_SLOT = ("margin", "prob", "rank")
STATIC_COMMON = ("n_scored", "n_above", "mean_margin", "max_margin", "min_margin", "std_margin", "mean_prob",
                 "best_rank", "pair_best_margin", "gap_to_pair_best", "key_mention_max", "key_mention_rel_prob",
                 "pair_potential", "head_type", "tail_type", "head_mentions", "tail_mentions", "same_sentence",
                 "sentence_distance", "n_entities", "type_fit", "type_count", "relation_count", "relation",
                 "relation_missing_rate", "reverse_rule_margin", "chain_rule_margin")
LABEL_FEATURES = ("pair_labels", "reverse_labels", "reverse_same_relation", "rule_inverse", "rule_symmetric",
                  "rule_chain", "head_labels", "tail_labels", "head_same_relation", "tail_same_relation",
                  "doc_relation_labels", "doc_labels_per_entity", "doc_label_agreement", "doc_unlabelled_predicted",
                  "head_unlabelled_predicted", "tail_unlabelled_predicted", "context_pair", "context_reverse",
                  "context_chain")
CATEGORICAL = ("head_type", "tail_type", "relation")
_RELATION_IDS = default_schema().relation_ids  # the relation feature's codes: DocRED's order in rel_info.json
_RELATION_CODES = {r: i for i, r in enumerate(_RELATION_IDS)}
_CHAIN_RELATIONS = tuple(sorted({r for pair in CHAIN for r in pair}))  # the mean margins the chain rules read


def feature_names(slots: Sequence[str]) -> tuple[str, ...]:
    """The ranker's columns, in order, for these model slots."""
    return (*(f"{f}:{s}" for s in slots for f in PER_SLOT), *STATIC_COMMON, *LABEL_FEATURES)


def relation_of_code(code: float) -> str | None:
    """The relation id a `relation` feature value stands for (None for NaN or an unknown code)."""
    return _RELATION_IDS[int(code)] if code == code and 0 <= int(code) < len(_RELATION_IDS) else None


def slot_of(method: str) -> str:
    """Method family of a method name: "paee.v1" -> "paee"."""
    return method.split(".")[0]


def slots_of(methods: Iterable[str]) -> tuple[str, ...]:
    """One slot per method family among `methods`, sorted, so a new method gets its slot without an entry."""
    return tuple(sorted({slot_of(m) for m in methods if m}))


def scored_slots(*scores: Mapping[str, Sequence[PairScores | None]]) -> tuple[str, ...]:
    """The slots of the models that scored anything in these score lists (model name -> scores per document)."""
    return slots_of(ps.method for by_model in scores for lst in by_model.values() for ps in lst if ps is not None)


def models_outside(scores_by_model: Mapping[str, Sequence[PairScores | None]], slots: Sequence[str]) -> list[str]:
    """'name (method)' of each model whose family is not among `slots`: its scores cannot inform the features."""
    out = []
    for name, scores in scores_by_model.items():
        methods = sorted({ps.method for ps in scores if ps is not None and slot_of(ps.method) not in slots})
        out += [f"{name} ({m})" for m in methods]
    return out


@dataclass(frozen=True)
class Pool:
    """Which triples become candidates: within `band` of a threshold, or among a pair's `top_k` relations."""

    band: float = 4.0
    top_k: int = 1

    def to_json(self) -> dict[str, float]:
        return {"band": self.band, "top_k": self.top_k}


@dataclass(frozen=True)
class DocumentCandidates:
    """One document's candidates: entity indices, relation ids, and the static feature block."""

    title: str
    heads: np.ndarray  # (n,)
    tails: np.ndarray  # (n,)
    relations: tuple[str, ...]  # (n,)
    static: np.ndarray  # (n, n_static) float32
    mean_margin: np.ndarray  # (n,) the tie-break of the ranking
    predicted: frozenset[Triple] = frozenset()  # every triple of the document the models' mean margin predicts

    def __len__(self) -> int:
        return len(self.relations)

    def triples(self) -> list[Triple]:
        return list(zip(self.heads.tolist(), self.tails.tolist(), self.relations))


def slot_scores(per_model: Mapping[str, PairScores], slots: Sequence[str]) -> dict[str, list[PairScores]]:
    """The document's scores grouped by model slot; models of other families are left out."""
    out: dict[str, list[PairScores]] = {}
    for ps in per_model.values():
        if slot_of(ps.method) in slots:
            out.setdefault(slot_of(ps.method), []).append(ps)
    return out


def document_candidates(doc: Document, per_model: Mapping[str, PairScores], *, slots: Sequence[str],
                        pool: Pool = Pool(), type_stats: TypeStats | None = None,
                        missing_rates: Mapping[str, float] | None = None, exclude: Iterable[Triple] = (),
                        only: Iterable[Triple] | None = None) -> DocumentCandidates:
    """The pool's candidates of one document (never a labelled or excluded triple), or exactly the triples
    `only` (for decisions, whatever the pool); every model in `per_model` has scored `doc`."""
    scores = _DocScores.build(doc, slot_scores(per_model, slots), slots)
    n_e = doc.num_entities
    labelled = {(f.h, f.t, f.r) for f in doc.facts or ()}
    rel_pos = {r: k for k, r in enumerate(scores.relation_ids)}
    blocked = np.array([(h, t, rel_pos[r]) for h, t, r in (*labelled, *exclude) if r in rel_pos and max(h, t) < n_e],
                       dtype=np.int64).reshape(-1, 3)  # (n_blocked, 3): h, t, k
    found, chain_mean, predicted = scores.scan(pool if only is None else None, blocked)
    if only is not None:
        picked = [(h, t, rel_pos[r]) for h, t, r in only if r in rel_pos and h != t and max(h, t) < n_e]
        found = np.array(picked, dtype=np.int64).reshape(-1, 3)
    hs, ts, ks = (np.ascontiguousarray(found[:, i]) for i in range(3))
    static = scores.static_features(doc, hs, ts, ks, len(slots), chain_mean, type_stats, missing_rates or {})
    mean_margin = np.nan_to_num(static[:, STATIC_COMMON.index("mean_margin") + 3 * len(slots)], nan=-np.inf)
    return DocumentCandidates(doc.title, hs, ts, tuple(scores.relation_ids[k] for k in ks.tolist()), static,
                              mean_margin, predicted)


def label_features(doc: Document, cands: DocumentCandidates, labels: Iterable[Triple],
                   relation_stats: RelationStats | None = None) -> np.ndarray:
    """(n, len(LABEL_FEATURES)) from the labels as they stand (gold plus accepted decisions); the context
    columns are NaN without relation statistics."""
    labels = set(labels)
    n_e = doc.num_entities
    pair_n = np.zeros((n_e, n_e))
    ent_n = np.zeros(n_e)
    head_r: dict[tuple[int, str], int] = {}
    tail_r: dict[tuple[int, str], int] = {}
    rel_n: dict[str, int] = {}
    for h, t, r in labels:
        pair_n[h, t] += 1
        ent_n[h] += 1
        ent_n[t] += 1
        head_r[(h, r)] = head_r.get((h, r), 0) + 1
        tail_r[(t, r)] = tail_r.get((t, r), 0) + 1
        rel_n[r] = rel_n.get(r, 0) + 1
    rules = RuleIndex.from_labels(labels, tuple(e.type for e in doc.entities))
    hs, ts = cands.heads, cands.tails
    out = np.zeros((len(cands), len(LABEL_FEATURES)), dtype=np.float32)
    out[:, 0] = pair_n[hs, ts]
    out[:, 1] = pair_n[ts, hs]
    out[:, 6] = ent_n[hs]
    out[:, 7] = ent_n[ts]
    out[:, 11] = len(labels) / max(n_e, 1)
    # how complete the labels look where the models are confident: a document (or entity) whose confident
    # predictions are mostly unlabelled is likely under-labelled
    unlabelled = cands.predicted - labels
    out[:, 12] = len(cands.predicted & labels) / len(cands.predicted) if cands.predicted else np.nan
    out[:, 13] = len(unlabelled) / max(n_e, 1)
    ent_u = np.zeros(n_e)
    for h, t, _ in unlabelled:
        ent_u[h] += 1
        ent_u[t] += 1
    out[:, 14] = ent_u[hs]
    out[:, 15] = ent_u[ts]
    ctx = LabelContext.from_labels(labels) if relation_stats is not None else None
    if ctx is None:
        out[:, 16:19] = np.nan
    for c, (h, t, r) in enumerate(zip(hs.tolist(), ts.tolist(), cands.relations)):
        fired = rules.rules_for(h, t, r)
        out[c, 2] = (t, h, r) in labels
        out[c, 3] = any(f.startswith("inverse:") for f in fired)
        out[c, 4] = any(f.startswith("symmetric:") for f in fired)
        out[c, 5] = any(f.startswith("chain:") for f in fired)
        out[c, 8] = head_r.get((h, r), 0)
        out[c, 9] = tail_r.get((t, r), 0)
        out[c, 10] = rel_n.get(r, 0)
        if ctx is not None:
            out[c, 16:19] = relation_stats.context_probabilities(ctx, h, t, r)
    return out


def feature_matrix(doc: Document, cands: DocumentCandidates, labels: Iterable[Triple],
                   relation_stats: RelationStats | None = None) -> np.ndarray:
    """(n, n_features): the static block, then the label block."""
    return np.concatenate([cands.static, label_features(doc, cands, labels, relation_stats)], axis=1)


@dataclass(frozen=True)
class _DocScores:
    """What the models said about one document, read where the features ask (engine.curate.slot_views): no
    dense (slot, head, tail, relation) grid, and nothing for a slot no model filled."""

    views: SlotViews
    key_max: np.ndarray  # (n_e, n_e) KMGRE best key-mention probability, NaN where absent
    key_at: np.ndarray | None  # (n_e, n_e, 4) int64: (model, pair row, head mention, tail mention), -1 absent
    key_models: tuple[PairScores, ...]  # the models key_at names
    potential: np.ndarray  # (n_e, n_e) PAEE pair potential, NaN where absent

    @property
    def relation_ids(self) -> tuple[str, ...]:
        return self.views.relation_ids

    @classmethod
    def build(cls, doc: Document, by_slot: Mapping[str, Sequence[PairScores]], slots: Sequence[str]) -> "_DocScores":
        first = next((ps for group in by_slot.values() for ps in group), None)
        relation_ids = first.relation_ids if first is not None else default_schema().relation_ids
        n_e = doc.num_entities
        key_max, potential = np.full((n_e, n_e), np.nan), np.full((n_e, n_e), np.nan)
        key_at, key_models = None, []
        for slot in slots:  # the first model (in slot order) with pair potentials, and with mention grids
            for ps in by_slot.get(slot, ()):
                pair_values = ps.extra("pair_values")
                if pair_values is not None and np.isnan(potential).all():
                    potential[ps.heads, ps.tails] = pair_values.values
                if ps.extra("mention_grids") is not None and np.isnan(key_max).all():
                    key_at = np.full((n_e, n_e, 4), -1, dtype=np.int64) if key_at is None else key_at
                    _find_key_mentions(ps, len(key_models), key_max, key_at)
                    key_models.append(ps)
        return cls(SlotViews.build(n_e, by_slot, slots, relation_ids), key_max, key_at, tuple(key_models), potential)

    def scan(self, pool: Pool | None, blocked: np.ndarray) -> tuple[np.ndarray, np.ndarray, frozenset[Triple]]:
        """One pass over the document in blocks of head entities: the pool's candidates (h, t, k) in (h, t, k)
        order, none on the diagonal or at the `blocked` (h, t, k) rows (none at all without a pool); every triple
        the mean margin predicts; and the chain rules' mean margins (n_e, n_e, n_chain relations)."""
        n_e, rel_pos = self.views.n_e, {r: k for k, r in enumerate(self.relation_ids)}
        chain_cols = [rel_pos[r] for r in _CHAIN_RELATIONS if r in rel_pos]
        chain_mean = np.full((n_e, n_e, len(chain_cols)), -np.inf)
        found, predicted = [], []
        for h0, margins in self.views.blocks():  # margins (n_scored, n_heads, n_e, n_rel)
            h1 = h0 + margins.shape[1]
            mean = mean_of(margins)  # (n_heads, n_e, n_rel)
            chain_mean[h0:h1] = mean[:, :, chain_cols]
            predicted.append(np.argwhere(mean > 0) + [h0, 0, 0])
            if pool is None:
                continue
            best = best_of(margins)
            mask = (best > -pool.band) | top_k_mask(best, pool.top_k)  # (n_heads, n_e, n_rel)
            heads = np.arange(h0, h1)
            mask[heads - h0, heads, :] = False
            inside = blocked[(blocked[:, 0] >= h0) & (blocked[:, 0] < h1)]
            mask[inside[:, 0] - h0, inside[:, 1], inside[:, 2]] = False
            found.append(np.argwhere(mask) + [h0, 0, 0])
        triples = np.concatenate(found) if found else np.zeros((0, 3), dtype=np.int64)  # (n, 3): h, t, k
        ph, pt, pk = np.concatenate(predicted).T if predicted else (np.zeros(0, np.int64),) * 3
        said = frozenset((h, t, self.relation_ids[k]) for h, t, k in zip(ph.tolist(), pt.tolist(), pk.tolist()))
        return triples, chain_mean, said

    def key_relation_probability(self, hs: np.ndarray, ts: np.ndarray, ks: np.ndarray) -> np.ndarray:
        """(n,) the relation probability at each candidate's key mention pair, NaN where absent."""
        out = np.full(len(hs), np.nan)
        if self.key_at is None:
            return out
        at = self.key_at[hs, ts]  # (n, 4)
        rel_pos = {r: k for k, r in enumerate(self.relation_ids)}
        cols = [np.array([ps.relation_ids.index(r) if r in ps.relation_ids else -1 for r in rel_pos])
                for ps in self.key_models]
        for c in np.nonzero(at[:, 0] >= 0)[0].tolist():
            m, p, i, j = at[c].tolist()
            col = cols[m][ks[c]]
            if col >= 0:
                out[c] = self.key_models[m].extra("mention_grids").grids[p].relation_probability[i, j, col]
        return out

    def static_features(self, doc: Document, hs: np.ndarray, ts: np.ndarray, ks: np.ndarray, n_slots: int,
                        chain_mean: np.ndarray, type_stats: TypeStats | None,
                        missing_rates: Mapping[str, float]) -> np.ndarray:
        out = np.full((len(hs), 3 * n_slots + len(STATIC_COMMON)), np.nan, dtype=np.float32)
        c = {name: 3 * n_slots + i for i, name in enumerate(STATIC_COMMON)}
        pos = 3 * np.array(self.views.positions, dtype=np.int64)  # each scored slot's first column
        m, probs, ranks, pair_best = self._slot_features(hs, ts, ks)
        out[:, pos], out[:, pos + 1], out[:, pos + 2] = m.T, probs.T, ranks.T
        out[:, c["n_scored"]] = (~np.isnan(m)).sum(axis=0)
        out[:, c["n_above"]] = (np.nan_to_num(m, nan=-np.inf) > 0).sum(axis=0)
        if len(m):  # without a scored slot the rest stays NaN
            with warnings.catch_warnings():  # a triple no slot scored (a decision outside the models) stays NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                out[:, c["mean_margin"]] = np.nanmean(m, axis=0)
                out[:, c["max_margin"]] = np.nanmax(m, axis=0)
                out[:, c["min_margin"]] = np.nanmin(m, axis=0)
                out[:, c["std_margin"]] = np.nanstd(m, axis=0)
                out[:, c["mean_prob"]] = np.nanmean(probs, axis=0)
                out[:, c["best_rank"]] = np.nanmin(ranks, axis=0)
                out[:, c["pair_best_margin"]] = pair_best
                out[:, c["gap_to_pair_best"]] = out[:, c["mean_margin"]] - out[:, c["pair_best_margin"]]
        out[:, c["key_mention_max"]] = self.key_max[hs, ts]
        out[:, c["key_mention_rel_prob"]] = self.key_relation_probability(hs, ts, ks)
        out[:, c["pair_potential"]] = self.potential[hs, ts]
        _text_features(doc, hs, ts, ks, self.relation_ids, out, c, type_stats, missing_rates)
        self._rule_margins(hs, ts, ks, chain_mean, out[:, c["reverse_rule_margin"]], out[:, c["chain_rule_margin"]])
        return out

    def _slot_features(self, hs: np.ndarray, ts: np.ndarray,
                       ks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per scored slot the candidates' margins, probabilities and ranks (n_scored, n), and the best mean
        margin of each candidate's pair (n,), read a block of candidates' pairs at a time."""
        n_rel = len(self.relation_ids)
        shape = (len(self.views.models), len(hs))
        m, ranks = np.full(shape, np.nan), np.full(shape, np.nan)
        pair_best = np.full(len(hs), np.nan)
        if not self.views.models:
            return m, m.copy(), ranks, pair_best
        step = block_rows(n_rel)
        for a in range(0, len(hs), step):
            b = slice(a, a + step)
            rows = self.views.values(hs[b, None], ts[b, None], np.arange(n_rel)[None, :])  # (n_scored, n_b, n_rel)
            m[:, b] = np.take_along_axis(rows, ks[None, b, None], axis=2)[:, :, 0]
            for s in range(len(rows)):
                ranks[s, b] = np.where(np.isnan(m[s, b]), np.nan, stable_ranks(rows[s], ks[b]))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                pair_best[b] = np.nanmean(rows, axis=0).max(axis=1)
        return m, self.views.values(hs, ts, ks, prob=True), ranks, pair_best

    def _rule_margins(self, hs: np.ndarray, ts: np.ndarray, ks: np.ndarray, chain_mean: np.ndarray,
                      reverse: np.ndarray, chain: np.ndarray) -> None:
        """The models' own support for a candidate through relation logic (the label-free twin of the rule_*
        features): the best mean margin of a reverse triple that entails it, and over intermediate entities m
        the best min(margin(h, m, a), margin(m, t, b)) of a chain that entails it. NaN where no rule applies."""
        rel_pos = {r: k for k, r in enumerate(self.relation_ids)}
        chain_pos = {r: i for i, r in enumerate(r for r in _CHAIN_RELATIONS if r in rel_pos)}
        n_e = self.views.n_e
        for k in np.unique(ks).tolist():
            rows = np.nonzero(ks == k)[0]
            h, t = hs[rows], ts[rows]
            relation = self.relation_ids[k]
            inverse = [rel_pos[r] for r in reverse_support(relation) if r in rel_pos]
            if inverse:
                mean = mean_of(self.views.values(t[:, None], h[:, None], np.array(inverse)[None, :]))  # (n, n_inv)
                reverse[rows] = _finite_or_nan(mean.max(axis=1))
            chains = [(chain_pos[a], chain_pos[b]) for a, b in chain_support(relation)
                      if a in chain_pos and b in chain_pos]
            if chains and n_e > 2:
                best = np.full(len(rows), -np.inf)
                step = block_rows(n_e)
                for a, b in chains:
                    for lo in range(0, len(rows), step):
                        hb, tb = h[lo:lo + step], t[lo:lo + step]
                        via = np.minimum(chain_mean[hb, :, a], chain_mean[:, tb, b].T)  # (n_b, n_e): through each m
                        via[np.arange(len(hb)), hb] = -np.inf
                        via[np.arange(len(hb)), tb] = -np.inf
                        best[lo:lo + step] = np.maximum(best[lo:lo + step], via.max(axis=1))
                chain[rows] = _finite_or_nan(best)


def _text_features(doc: Document, hs: np.ndarray, ts: np.ndarray, ks: np.ndarray, relation_ids: tuple[str, ...],
                   out: np.ndarray, c: Mapping[str, int], type_stats: TypeStats | None,
                   missing_rates: Mapping[str, float]) -> None:
    """The columns read from the text, the relation and the training statistics, into `out` in place."""
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
        r = relation_ids[k]
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


def _finite_or_nan(values: np.ndarray) -> np.ndarray:
    """-inf (nothing scored there) as NaN, the ranker's missing value."""
    return np.where(np.isfinite(values), values, np.nan)


def _find_key_mentions(ps: PairScores, model: int, key_max: np.ndarray, key_at: np.ndarray) -> None:
    """Per pair, KMGRE's best key-mention probability and where it is: (model, pair row, mention i, mention j)."""
    grids = ps.extra("mention_grids").grids
    for p, (h, t) in enumerate(zip(ps.heads.tolist(), ps.tails.tolist())):
        key = grids[p].key_probability  # (n_head_mentions, n_tail_mentions)
        if key.size == 0:
            continue
        i, j = np.unravel_index(int(np.argmax(key)), key.shape)
        key_max[h, t] = key[i, j]
        key_at[h, t] = (model, p, i, j)
