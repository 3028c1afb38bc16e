"""Suspected false negatives: triples the gold labels lack but the models believe, ranked, with their support.

Pure NumPy (and LightGBM for the learned ranker) over `PairScores`, so the app, the CLI and the benchmark
rank the same way without torch. Two rankings:

The learned ranker (`ranker=`, see engine.curate.ranker; the CLI uses the shipped one by default). Candidates
are the ranker's pool (engine.curate.candidate_features.Pool: within its band of a threshold, or among a
pair's top relations); the score is its calibrated probability that the triple is a missing label.

The formula, the fallback without a ranker file. Candidates: every triple (h, t, r) absent from the labels
whose margin (logit minus the threshold logit) is above -band for at least one model. Score (higher first),
over the models M that scored the document and know r, with d_m the margin of model m:

    score = mean_m sigmoid(d_m)                          # belief, 0..1, comparable across models
          + w_agree * (#{m : d_m > 0} / |M|)             # agreement: share of models above threshold
          - w_type  * [type_fit is False]                # (head type, tail type) never seen with r in training
          + w_logic * [a relation-logic rule fired]      # inverse / symmetric / chain counterpart labelled

with ScoreWeights defaults w_agree = 0.25, w_type = 0.3, w_logic = 0.5. With one model and neither type
statistics nor a rule firing, the order is that model's margin order.

Both: `decisions` (engine.curate.decisions) are never suggested again, and accepted ones count as labels
(so their inverse or chain counterparts gain support). Ties break by mean margin, then document, head, tail
and relation order, so rankings are reproducible. Each suggestion's support says which ranking scored it.

Mining a labelled training set's own documents. A model has memorised its training labels, missing ones
included, so score each document with a model that did not train on it (out-of-fold):

    python -m engine folds --input train.json --k 5 --seed 13 --output folds.json
    for i in 0 1 2 3 4; do
        python -m engine train --method atlop --train train.json --train-split folds.json:train_$i --output runs/fold$i
    done
    python -m engine suggest --input train.json --folds folds.json \\
        --checkpoint runs/fold0 runs/fold1 runs/fold2 runs/fold3 runs/fold4 --output suggestions.json

`--folds` makes checkpoint i score only the documents of `heldout_i`; together they act as one model, "oof"."""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.curate.candidate_features import Pool, models_outside, slot_scores
from engine.curate.decisions import Decision, by_title
from engine.curate.folds import Fold, SuggestError, folds_to_split, out_of_fold_folds
from engine.curate.queue import build_queue, rank_pending
from engine.curate.ranker import DEFAULT_RANKER, Ranker, RankerError
from engine.curate.relation_logic import RuleIndex
from engine.curate.relation_stats import DEFAULT_RELATION_STATS, RelationStats
from engine.curate.support import KEY_MENTION_PAIRS, _key_mention_pairs, build_support, shared_sentences
from engine.curate.type_stats import DEFAULT_TYPE_STATS, TypeStats
from engine.data.documents import Document, Triple
from engine.data.pair_scores import PairScores
from engine.data.support import KeyMentionPair, ModelVote, Support

log = logging.getLogger(__name__)
# what sorts suggestions across documents and windows: smaller first (negated score, then tie-breaks down to
# the document's index in the corpus), so keyed lists merge into one order
SortKey = tuple[float | int, ...]


@dataclass(frozen=True)
class ScoreWeights:
    """The weights of the ranking formula (see the module docstring)."""

    agree: float = 0.25
    type_penalty: float = 0.3
    logic: float = 0.5


@dataclass(frozen=True)
class Suggestion:
    """A suspected missing label (h, t, r) of the document `title`, with its ranking score and support.
    With the learned ranker the ranking score is the calibrated probability that it is a missing label
    (named apart from PairScores and metric scores; the JSON key stays "score"). The support is named apart
    from DocRED's gold evidence; its JSON key stays "evidence", as existing files and databases have it."""

    title: str
    h: int
    t: int
    r: str
    ranking_score: float
    support: Support = field(compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "h_idx": self.h, "t_idx": self.t, "r": self.r, "score": self.ranking_score,
                "evidence": self.support.to_json()}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Suggestion":
        return cls(d["title"], d["h_idx"], d["t_idx"], d["r"], d["score"], Support.from_json(d["evidence"]))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Overflow-free logistic function."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def default_ranker(path: str | Path = DEFAULT_RANKER) -> Ranker | None:
    """The shipped ranker, or None (the formula ranks) when its file is absent; a file that exists but does
    not match this code is an error, not a silent fallback."""
    if not (Path(path) / "ranker.json").is_file():
        log.warning("no ranker at %s: suggestions are ranked by the formula", path)
        return None
    return Ranker.load(path)


def default_relation_stats() -> RelationStats | None:
    """The shipped relation co-occurrence statistics, or None when absent."""
    return RelationStats.load() if DEFAULT_RELATION_STATS.is_file() else None


def suggest(documents: Sequence[Document], scores_by_model: Mapping[str, Sequence[PairScores | None]], *,
            type_stats: TypeStats | None = None, band: float | None = None, weights: ScoreWeights = ScoreWeights(),
            limit: int | None = None, ranker: Ranker | None = None, decisions: Sequence[Decision] = (),
            relation_stats: RelationStats | None = None) -> list[Suggestion]:
    """Ranked suspected false negatives, best first; never a gold or decided triple. Score lists align with
    `documents` by position; None means that model did not score that document (out-of-fold scoring).
    `band` widens or narrows the candidate pool (default: the ranker's pool, or 1.0 for the formula)."""
    return [s for _, s in keyed_suggestions(documents, scores_by_model, type_stats=type_stats, band=band,
                                            weights=weights, limit=limit, ranker=ranker, decisions=decisions,
                                            relation_stats=relation_stats)]


def keyed_suggestions(documents: Sequence[Document], scores_by_model: Mapping[str, Sequence[PairScores | None]], *,
                      indices: Sequence[int] | None = None, type_stats: TypeStats | None = None,
                      band: float | None = None, weights: ScoreWeights = ScoreWeights(), limit: int | None = None,
                      ranker: Ranker | None = None, decisions: Sequence[Decision] = (),
                      relation_stats: RelationStats | None = None) -> list[tuple[SortKey, Suggestion]]:
    """`suggest`'s list, best first, each with the key it is sorted by. documents[k] is document indices[k] of
    the whole corpus (default k), so lists of windows scored apart (a stream, or several processes) merge by
    key into `suggest`'s order over the corpus; with `limit` each keeps its `limit` best, which hold the
    corpus's `limit` best."""
    if band is not None and band < 0:
        raise SuggestError(f"band must be >= 0 (a margin distance below the threshold), got {band}")
    for name, scores in scores_by_model.items():
        if len(scores) != len(documents):
            raise SuggestError(f"model {name!r} has scores for {len(scores)} documents, expected {len(documents)}")
    indices = range(len(documents)) if indices is None else indices
    outside = models_outside(scores_by_model, ranker.slots) if ranker is not None else []
    if outside:
        log.warning("the ranker was trained with the slots %s; %s not among them and cannot inform its ranking "
                    "(train a ranker with them: python -m engine train-ranker)", ", ".join(ranker.slots),
                    ", ".join(outside) + (" is" if len(outside) == 1 else " are"))
    if ranker is not None and not _any_slot(scores_by_model, ranker.slots):
        log.warning("none of the models is of a kind the ranker knows (%s): ranking by the formula",
                    ", ".join(ranker.slots))
        ranker = None
    if ranker is not None:
        return _ranked_by_ranker(documents, scores_by_model, indices, ranker, type_stats, band, limit, decisions,
                                 relation_stats if relation_stats is not None else default_relation_stats())
    accepted, decided = by_title(decisions, accepted=True), by_title(decisions)
    band = 1.0 if band is None else band
    found: list[tuple[SortKey, Suggestion]] = []
    for i, doc in enumerate(documents):
        if doc.facts is None:
            continue
        per_model = {name: scores[i] for name, scores in scores_by_model.items() if scores[i] is not None}
        for order, sugg, mean_margin in _document_suggestions(doc, per_model, type_stats, band, weights,
                                                              accepted.get(doc.title, set()),
                                                              decided.get(doc.title, set())):
            found.append(((-sugg.ranking_score, -mean_margin, indices[i], sugg.h, sugg.t, order), sugg))
    found.sort(key=lambda row: row[0])
    log.debug("%d candidates within band %.2f of the threshold in %d documents", len(found), band, len(documents))
    return found[:limit] if limit is not None else found


def _any_slot(scores_by_model: Mapping[str, Sequence[PairScores | None]], slots: Sequence[str]) -> bool:
    return any(slot_scores({"m": ps}, slots) for scores in scores_by_model.values() for ps in scores if ps is not None)


def _ranked_by_ranker(documents: Sequence[Document], scores_by_model: Mapping[str, Sequence[PairScores | None]],
                      indices: Sequence[int], ranker: Ranker, type_stats: TypeStats | None, band: float | None,
                      limit: int | None, decisions: Sequence[Decision],
                      relation_stats: RelationStats | None) -> list[tuple[SortKey, Suggestion]]:
    """The learned ranker's order: the pool's candidates by calibrated probability, support for the top ones.
    Keys follow `ranked_order` (probability, mean margin, queue row as (document index, row within it))."""
    pool = ranker.pool if band is None else Pool(band, ranker.pool.top_k)
    queue = build_queue(documents, scores_by_model, slots=ranker.slots, pool=pool, type_stats=type_stats,
                        missing_rates=ranker.missing_rates, relation_stats=relation_stats)
    ranked = rank_pending(queue, ranker, decisions)
    keys, mean_margins = queue.keys(), queue.mean_margins()
    accepted = by_title(decisions, accepted=True)
    provenance = ranker.provenance()
    rules: dict[int, RuleIndex] = {}
    out = []
    for row, p in zip(ranked.rows[:limit].tolist(), ranked.probabilities[:limit].tolist()):
        i, h, t, r = keys[row]
        doc = documents[i]
        if i not in rules:
            labels = {(f.h, f.t, f.r) for f in doc.facts or ()} | accepted.get(doc.title, set())
            rules[i] = RuleIndex.from_labels(labels, tuple(e.type for e in doc.entities))
        per_model = {name: scores[i] for name, scores in scores_by_model.items() if scores[i] is not None}
        fit = type_stats.fits(r, doc.entities[h].type, doc.entities[t].type) if type_stats is not None else None
        support = build_support(doc, per_model, h, t, r, fit, rules[i].rules_for(h, t, r),
                                  {**provenance, "probability": round(p, 5)})
        key = (-p, -float(mean_margins[row]), indices[i], row - int(queue.offsets[i]))
        out.append((key, Suggestion(doc.title, h, t, r, round(float(p), 6), support)))
    return out


def _document_suggestions(doc: Document, per_model: Mapping[str, PairScores], type_stats: TypeStats | None,
                          band: float, weights: ScoreWeights, accepted: set[Triple],
                          decided: set[Triple]) -> list[tuple[int, Suggestion, float]]:
    if not per_model:
        return []
    names = list(per_model)
    relation_ids = list(dict.fromkeys(r for ps in per_model.values() for r in ps.relation_ids))
    margins, probs = _dense_scores(doc, per_model, relation_ids)  # (n_models, n_e, n_e, n_rel) each, NaN = unscored
    n_e = doc.num_entities
    best = np.where(np.isnan(margins), -np.inf, margins).max(axis=0)  # (n_e, n_e, n_rel)
    mask = best > -band
    mask[np.arange(n_e), np.arange(n_e), :] = False
    rel_pos = {r: k for k, r in enumerate(relation_ids)}
    labels = {(f.h, f.t, f.r) for f in doc.facts or ()} | accepted
    for h, t, r in labels | decided:
        if r in rel_pos and max(h, t) < n_e:
            mask[h, t, rel_pos[r]] = False
    hs, ts, rs = np.nonzero(mask)
    if len(hs) == 0:
        return []
    cand_m = margins[:, hs, ts, rs]  # (n_models, n_cand)
    cand_p = probs[:, hs, ts, rs]  # (n_models, n_cand)
    scored = ~np.isnan(cand_m)
    n_scored = scored.sum(axis=0)  # (n_cand,)
    mean_sig = np.where(scored, sigmoid(np.nan_to_num(cand_m)), 0.0).sum(axis=0) / n_scored
    mean_margin = np.where(scored, np.nan_to_num(cand_m), 0.0).sum(axis=0) / n_scored
    agree = (np.nan_to_num(cand_m, nan=-np.inf) > 0).sum(axis=0)  # (n_cand,)
    types = tuple(e.type for e in doc.entities)
    rules = RuleIndex.from_labels(labels, types)
    provenance = {"by": "formula", "weights": weights.__dict__}
    out = []
    for c, (h, t, k) in enumerate(zip(hs.tolist(), ts.tolist(), rs.tolist())):
        r = relation_ids[k]
        fit = type_stats.fits(r, types[h], types[t]) if type_stats is not None else None
        fired = rules.rules_for(h, t, r)
        score = (float(mean_sig[c]) + weights.agree * float(agree[c]) / float(n_scored[c])
                 - weights.type_penalty * (fit is False) + weights.logic * bool(fired))
        votes = {names[m]: ModelVote(float(cand_m[m, c]), float(cand_p[m, c]))
                 for m in range(len(names)) if scored[m, c]}
        support = Support(votes, int(agree[c]), shared_sentences(doc.entities[h], doc.entities[t]), fit, fired,
                            _key_mention_pairs(doc, per_model, h, t, r), provenance)
        out.append((k, Suggestion(doc.title, h, t, r, score, support), float(mean_margin[c])))
    return out


def _dense_scores(doc: Document, per_model: Mapping[str, PairScores],
                  relation_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Every model's margins and probabilities on one (model, head, tail, relation) grid; NaN where unscored."""
    n_e, rel_pos = doc.num_entities, {r: k for k, r in enumerate(relation_ids)}
    shape = (len(per_model), n_e, n_e, len(relation_ids))
    margins, probs = np.full(shape, np.nan, dtype=np.float64), np.full(shape, np.nan, dtype=np.float64)
    for m, (name, ps) in enumerate(per_model.items()):
        if ps.title != doc.title:
            raise SuggestError(f"model {name!r}: scores of {ps.title!r} where document {doc.title!r} was expected; "
                               "score lists must follow the documents' order")
        if len(ps.heads) and max(int(ps.heads.max()), int(ps.tails.max())) >= n_e:
            raise SuggestError(f"model {name!r}: scores of {doc.title!r} name entity "
                               f"{max(int(ps.heads.max()), int(ps.tails.max()))}, but it has {n_e} entities")
        cols = np.array([rel_pos[r] for r in ps.relation_ids])
        rows_h, rows_t = ps.heads[:, None], ps.tails[:, None]  # (n_pairs, 1) each
        margins[m, rows_h, rows_t, cols[None, :]] = ps.margins  # (n_pairs, n_rel) into the grid
        probs[m, rows_h, rows_t, cols[None, :]] = ps.probabilities[:, 1:]  # (n_pairs, n_rel)
    return margins, probs


__all__ = ["DEFAULT_RANKER", "DEFAULT_TYPE_STATS", "KEY_MENTION_PAIRS", "Fold", "KeyMentionPair",
           "ModelVote", "Ranker", "RankerError", "ScoreWeights", "Suggestion", "SuggestError", "Support", "TypeStats",
           "default_ranker", "default_relation_stats", "folds_to_split", "keyed_suggestions", "out_of_fold_folds",
           "suggest", "SortKey"]
