"""Suspected false negatives: triples the gold labels lack but the models believe, ranked, with evidence.

Pure NumPy over `PairScores`, so the app, the CLI and the benchmark rank the same way without torch.

Candidates. For a document with labels, every triple (h, t, r) absent from them whose margin (logit minus the
threshold logit) is above -band for at least one model: above the threshold, or within the review band below.

Score (higher first), over the models M that scored the document and know r, with d_m the margin of model m:

    score = mean_m sigmoid(d_m)                          # belief, 0..1, comparable across models
          + w_agree * (#{m : d_m > 0} / |M|)             # agreement: share of models above threshold
          - w_type  * [type_fit is False]                # (head type, tail type) never seen with r in training
          + w_logic * [a relation-logic rule fired]      # inverse / symmetric / chain counterpart labelled

with ScoreWeights defaults w_agree = 0.25, w_type = 0.3, w_logic = 0.5. With one model and neither type
statistics nor a rule firing, the order is that model's margin order. Ties break by mean margin, then document,
head, tail and relation order, so rankings are reproducible.

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
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.data.documents import Document, Entity
from engine.errors import DocreError
from engine.curate.relation_logic import RuleIndex
from engine.data.pair_extras import MentionGrids
from engine.data.pair_scores import PairScores
from engine.curate.type_stats import DEFAULT_TYPE_STATS, TypeStats

log = logging.getLogger(__name__)
KEY_MENTION_PAIRS = 3  # per model and suggestion


class SuggestError(DocreError, ValueError):
    """Scores and documents do not line up, or a fold request cannot be met."""


@dataclass(frozen=True)
class ScoreWeights:
    """The weights of the ranking score (see the module docstring)."""

    agree: float = 0.25
    type_penalty: float = 0.3
    logic: float = 0.5


@dataclass(frozen=True)
class ModelVote:
    """One model's view of a candidate: margin (logit - threshold) and the method's probability."""

    margin: float
    probability: float


@dataclass(frozen=True)
class KeyMentionPair:
    """A KMGRE key mention pair: mention indices within the head and tail entities, and where they are."""

    model: str
    head_mention: int
    tail_mention: int
    key_probability: float
    relation_probability: float | None
    head_sent_id: int
    head_pos: tuple[int, int]
    tail_sent_id: int
    tail_pos: tuple[int, int]

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "head_mention": self.head_mention, "tail_mention": self.tail_mention,
                "key_probability": round(self.key_probability, 5),
                "relation_probability": None if self.relation_probability is None else round(self.relation_probability, 5),
                "head": {"sent_id": self.head_sent_id, "pos": list(self.head_pos)},
                "tail": {"sent_id": self.tail_sent_id, "pos": list(self.tail_pos)}}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "KeyMentionPair":
        return cls(d["model"], d["head_mention"], d["tail_mention"], d["key_probability"], d["relation_probability"],
                   d["head"]["sent_id"], tuple(d["head"]["pos"]), d["tail"]["sent_id"], tuple(d["tail"]["pos"]))


@dataclass(frozen=True)
class Evidence:
    """Why a triple is suggested: every model's vote, shared sentences, type fit, fired rules, key mentions."""

    models: Mapping[str, ModelVote]
    agreeing_models: int
    sentences: tuple[int, ...]
    type_fit: bool | None
    rules: tuple[str, ...] = ()
    key_mention_pairs: tuple[KeyMentionPair, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "models": {name: {"margin": round(v.margin, 4), "probability": round(v.probability, 5)}
                       for name, v in self.models.items()},
            "agreeing_models": self.agreeing_models, "sentences": list(self.sentences),
            "type_fit": self.type_fit, "rules": list(self.rules)}
        if self.key_mention_pairs:
            out["key_mention_pairs"] = [k.to_json() for k in self.key_mention_pairs]
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Evidence":
        return cls({n: ModelVote(v["margin"], v["probability"]) for n, v in d["models"].items()},
                   d["agreeing_models"], tuple(d["sentences"]), d["type_fit"], tuple(d["rules"]),
                   tuple(KeyMentionPair.from_json(k) for k in d.get("key_mention_pairs", ())))


@dataclass(frozen=True)
class Suggestion:
    """A suspected missing label (h, t, r) of the document `title`, with its ranking score and evidence."""

    title: str
    h: int
    t: int
    r: str
    score: float
    evidence: Evidence = field(compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "h_idx": self.h, "t_idx": self.t, "r": self.r, "score": self.score,
                "evidence": self.evidence.to_json()}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Suggestion":
        return cls(d["title"], d["h_idx"], d["t_idx"], d["r"], d["score"], Evidence.from_json(d["evidence"]))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Overflow-free logistic function."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def shared_sentences(head: Entity, tail: Entity) -> tuple[int, ...]:
    """Sentence ids that hold a mention of both entities."""
    return tuple(sorted({m.sent_id for m in head.mentions} & {m.sent_id for m in tail.mentions}))


def suggest(documents: Sequence[Document], scores_by_model: Mapping[str, Sequence[PairScores | None]], *,
            type_stats: TypeStats | None = None, band: float = 1.0, weights: ScoreWeights = ScoreWeights(),
            limit: int | None = None) -> list[Suggestion]:
    """Ranked suspected false negatives, best first; never a gold triple. Score lists align with `documents`
    by position; None means that model did not score that document (out-of-fold scoring)."""
    if band < 0:
        raise SuggestError(f"band must be >= 0 (a margin distance below the threshold), got {band}")
    for name, scores in scores_by_model.items():
        if len(scores) != len(documents):
            raise SuggestError(f"model {name!r} has scores for {len(scores)} documents, expected {len(documents)}")
    found: list[tuple[float, float, int, int, int, int, Suggestion]] = []
    for i, doc in enumerate(documents):
        if doc.facts is None:
            continue
        per_model = {name: scores[i] for name, scores in scores_by_model.items() if scores[i] is not None}
        for order, sugg, mean_margin in _document_suggestions(doc, per_model, type_stats, band, weights):
            found.append((-sugg.score, -mean_margin, i, sugg.h, sugg.t, order, sugg))
    found.sort(key=lambda row: row[:6])
    log.debug("%d candidates within band %.2f of the threshold in %d documents", len(found), band, len(documents))
    ranked = [row[-1] for row in found]
    return ranked[:limit] if limit is not None else ranked


def _document_suggestions(doc: Document, per_model: Mapping[str, PairScores], type_stats: TypeStats | None,
                          band: float, weights: ScoreWeights) -> list[tuple[int, Suggestion, float]]:
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
    for f in doc.facts or ():
        if f.r in rel_pos:
            mask[f.h, f.t, rel_pos[f.r]] = False
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
    rules = RuleIndex.from_labels(((f.h, f.t, f.r) for f in doc.facts or ()), types)
    out = []
    for c, (h, t, k) in enumerate(zip(hs.tolist(), ts.tolist(), rs.tolist())):
        r = relation_ids[k]
        fit = type_stats.fits(r, types[h], types[t]) if type_stats is not None else None
        fired = rules.rules_for(h, t, r)
        score = (float(mean_sig[c]) + weights.agree * float(agree[c]) / float(n_scored[c])
                 - weights.type_penalty * (fit is False) + weights.logic * bool(fired))
        votes = {names[m]: ModelVote(float(cand_m[m, c]), float(cand_p[m, c])) for m in range(len(names)) if scored[m, c]}
        evidence = Evidence(votes, int(agree[c]), shared_sentences(doc.entities[h], doc.entities[t]), fit, fired,
                            _key_mention_pairs(doc, per_model, h, t, r))
        out.append((k, Suggestion(doc.title, h, t, r, score, evidence), float(mean_margin[c])))
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


def _key_mention_pairs(doc: Document, per_model: Mapping[str, PairScores], h: int, t: int,
                       r: str) -> tuple[KeyMentionPair, ...]:
    """The top KEY_MENTION_PAIRS mention pairs by key probability, for each model with mention-pair grids."""
    out: list[KeyMentionPair] = []
    head, tail = doc.entities[h].mentions, doc.entities[t].mentions
    for name, ps in per_model.items():
        grids = ps.extra(MentionGrids)
        if grids is None or r not in ps.relation_ids:
            continue
        try:
            grid = grids.grids[ps.pair(h, t)]
        except KeyError:
            continue
        key = grid.key_probability  # (n_head_mentions, n_tail_mentions)
        col = ps.relation_ids.index(r)  # grids hold one probability per relation, no threshold column
        for flat in np.argsort(-key, axis=None, kind="stable")[:KEY_MENTION_PAIRS]:
            i, j = np.unravel_index(flat, key.shape)
            out.append(KeyMentionPair(name, int(i), int(j), float(key[i, j]), float(grid.relation_probability[i, j, col]),
                                      head[i].sent_id, head[i].pos, tail[j].sent_id, tail[j].pos))
    return tuple(out)


@dataclass(frozen=True)
class Fold:
    """Fold `index` of out-of-fold scoring: train a model on `train`, score `heldout` with it."""

    index: int
    train: tuple[str, ...]
    heldout: tuple[str, ...]


def out_of_fold_folds(titles: Iterable[str], k: int, seed: int) -> list[Fold]:
    """k folds over the distinct titles (shuffled with `seed`, dealt round-robin): every title is held out once."""
    distinct = sorted(set(titles))
    if k < 2 or k > len(distinct):
        raise SuggestError(f"k must be between 2 and the number of distinct titles ({len(distinct)}), got {k}")
    random.Random(seed).shuffle(distinct)
    held = [sorted(distinct[i::k]) for i in range(k)]
    return [Fold(i, tuple(sorted(t for j, part in enumerate(held) if j != i for t in part)), tuple(held[i]))
            for i in range(k)]


def folds_to_split(folds: Sequence[Fold], seed: int | None = None) -> dict[str, Any]:
    """A split file for `--train-split FILE:train_i` and `suggest --folds FILE`: parts train_i and heldout_i."""
    out: dict[str, Any] = {"k": len(folds), "seed": seed,
                           "how": "engine.curate.suggestions.out_of_fold_folds: distinct titles sorted, shuffled with "
                                  "random.Random(seed), dealt round-robin into k held-out parts"}
    for fold in folds:
        out[f"train_{fold.index}"], out[f"heldout_{fold.index}"] = list(fold.train), list(fold.heldout)
    return out


__all__ = ["DEFAULT_TYPE_STATS", "Evidence", "Fold", "KeyMentionPair", "ModelVote", "ScoreWeights", "Suggestion",
           "SuggestError", "TypeStats", "folds_to_split", "out_of_fold_folds", "suggest"]
