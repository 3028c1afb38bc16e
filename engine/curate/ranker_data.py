"""Training rows for the review ranker: candidates of documents whose labels are incomplete, each marked
1 when the complete labels hold it (a missing label) and 0 otherwise.

Two sources, both scored by models that never trained on the documents:
- real incompleteness: a document's original labels and a complete re-annotation of it (Revisit-DocRED:
  DocRED's recommend-revise labels against labels made from scratch);
- simulated incompleteness: complete labels with a seeded fraction of each document's triples hidden
  (`hide_labels`), which adds relations and documents the real pairs lack, at the price of hiding
  uniformly where real annotators miss some relations far more than others."""
from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine.curate.candidate_features import Pool, feature_names, relation_of_code, scored_slots
from engine.curate.queue import CandidateQueue, build_queue
from engine.curate.ranker import TrainingData
from engine.curate.relation_stats import RelationStats
from engine.curate.type_stats import TypeStats
from engine.data.documents import Document, Fact
from engine.data.pair_scores import PairScores


def triples(doc: Document) -> set[tuple[int, int, str]]:
    return {(f.h, f.t, f.r) for f in doc.facts or ()}


def hide_labels(documents: Sequence[Document], fraction: float, seed: int,
                rates: Mapping[str, float] | None = None) -> list[Document]:
    """Each document with some of its triples hidden, drawn by a generator seeded with (seed, title), so a
    subset of documents hides the same triples as the whole set.

    Without `rates`, round(fraction * n) triples per document, uniformly. With `rates` (relation -> share
    that goes missing, from `missing_rates` on real label pairs), each triple is hidden with its relation's
    rate (`fraction` for relations without one): real annotators miss P108 "employer" nearly always and
    P175 "performer" rarely, and a simulation that hides alike teaches the ranker the wrong prior."""
    out = []
    for doc in documents:
        gold = sorted(triples(doc))
        rng = random.Random(f"{seed}/{doc.title}")
        if rates is None:
            hidden = set(rng.sample(gold, round(fraction * len(gold))))
        else:
            hidden = {x for x in gold if rng.random() < rates.get(x[2], fraction)}
        out.append(Document(doc.title, doc.sents, doc.entities,
                            tuple(Fact(h, t, r) for h, t, r in gold if (h, t, r) not in hidden), doc.extra))
    return out


def missing_rates(incomplete: Sequence[Document], complete: Sequence[Document],
                  strength: float = 20.0) -> dict[str, float]:
    """Per relation, the share of its complete-label triples that the incomplete labels lack, smoothed
    towards the overall share with `strength` pseudo-triples (rare relations get the overall share)."""
    by_title = {d.title: d for d in complete}
    missing: dict[str, int] = {}
    total: dict[str, int] = {}
    for doc in incomplete:
        full, have = triples(by_title[doc.title]), triples(doc)
        for _, _, r in full:
            total[r] = total.get(r, 0) + 1
        for _, _, r in full - have:
            missing[r] = missing.get(r, 0) + 1
    overall = sum(missing.values()) / max(sum(total.values()), 1)
    return {r: (missing.get(r, 0) + strength * overall) / (n + strength) for r, n in total.items()}


def queue_labels(queue: CandidateQueue, complete: Sequence[Document]) -> np.ndarray:
    """(n,) 1 where the complete labels of the candidate's document hold it."""
    by_title = {d.title: triples(d) for d in complete}
    return np.array([(h, t, r) in by_title.get(queue.documents[i].title, set()) for i, h, t, r in queue.keys()],
                    dtype=np.int8)


def examples(incomplete: Sequence[Document], complete: Sequence[Document],
             scores_by_model: Mapping[str, Sequence[PairScores | None]], *, slots: Sequence[str] | None = None,
             pool: Pool = Pool(), type_stats: TypeStats | None = None,
             rates: Mapping[str, float] | None = None, relation_stats: RelationStats | None = None) -> TrainingData:
    """Every candidate of the incomplete documents, labelled against the complete ones (weight 1); `slots`
    defaults to the families of the models that scored them."""
    slots = scored_slots(scores_by_model) if slots is None else tuple(slots)
    queue = build_queue(incomplete, scores_by_model, slots=slots, pool=pool, type_stats=type_stats,
                        missing_rates=rates, relation_stats=relation_stats)
    labels = queue_labels(queue, complete)
    groups = np.array([queue.documents[i].title for i, *_ in queue.keys()], dtype=str)
    return TrainingData(queue.features().astype(np.float32), labels, np.ones(len(labels), dtype=np.float32),
                        groups, feature_names(slots))


def downsample_negatives(data: TrainingData, ratio: float, seed: int) -> TrainingData:
    """Keep every positive and about `ratio` negatives per positive, each kept negative weighted by the
    inverse of its keep rate, so weighted counts (and so the calibration) stay those of the full pool."""
    pos = data.labels == 1
    n_neg = int((~pos).sum())
    keep_rate = min(1.0, ratio * int(pos.sum()) / max(n_neg, 1))
    keep = pos | (np.random.default_rng(seed).random(len(data)) < keep_rate)
    rows = np.nonzero(keep)[0]
    out = data.subset(rows)
    weights = out.weights.copy()
    weights[out.labels == 0] /= keep_rate
    return TrainingData(out.features, out.labels, weights, out.groups, out.feature_names)


def set_missing_rates(features: np.ndarray, names: Sequence[str], rates: Mapping[str, float]) -> np.ndarray:
    """A copy of `features` with the relation_missing_rate column rewritten from `rates` (per
    cross-validation fold: rates must come from the training documents only)."""
    col = list(names).index("relation_missing_rate")
    codes = features[:, list(names).index("relation")]
    out = features.copy()
    out[:, col] = [rates.get(relation_of_code(c), np.nan) for c in codes.tolist()]
    return out


def with_missing_rates(data: TrainingData, rates: Mapping[str, float]) -> TrainingData:
    """The same rows with the relation_missing_rate column rewritten from `rates`."""
    return TrainingData(set_missing_rates(data.features, data.feature_names, rates), data.labels, data.weights,
                        data.groups, data.feature_names)


@dataclass(frozen=True)
class TrainingRecipe:
    """How the default ranker's rows are made (engine train-ranker and the benchmark use the same recipe)."""

    pool: Pool = Pool(band=5.0, top_k=0)
    hide: float = 0.6  # simulated hiding rate for relations the real pairs never show
    sim_weight: float = 0.5  # a simulated row counts half a real one: real misses are the target
    # independent hiding draws per simulated document (seeds seed, seed + 1, ...), each weighted
    # sim_weight / sim_draws: the same documents teach several patterns of what goes missing
    sim_draws: int = 1
    # negatives kept per positive (weighted back up); None keeps every one: down-sampling to 4 / 8 / 16 per
    # positive cost recall deep in the queue (nested-CV R@miss 35.3 / 36.1 / 36.4 against 36.9 for all,
    # bench/ranker_recipes.py), and the full pool is still only tens of thousands of rows
    neg_ratio: float | None = None
    seed: int = 0
    # the rows a refit with decisions starts from (training.npz) keep this many negatives per positive:
    # every negative doubles a refit's time (about 10 s against 4 s here), past the 5 s a refit may take
    refit_neg_ratio: float | None = 8.0

    def to_json(self) -> dict[str, object]:
        return {"pool": self.pool.to_json(), "hide": self.hide, "sim_weight": self.sim_weight,
                "sim_draws": self.sim_draws, "neg_ratio": self.neg_ratio, "seed": self.seed,
                "refit_neg_ratio": self.refit_neg_ratio}

    def refit_rows(self, data: TrainingData) -> TrainingData:
        """The rows a ranker fitted on `data` keeps for its refits (see downsample_negatives)."""
        return data if self.refit_neg_ratio is None else downsample_negatives(data, self.refit_neg_ratio, self.seed)


def recipe_data(real_incomplete: Sequence[Document], real_complete: Sequence[Document],
                real_scores: Mapping[str, Sequence[PairScores | None]], sim_complete: Sequence[Document],
                sim_scores: Mapping[str, Sequence[PairScores | None]], *, recipe: TrainingRecipe = TrainingRecipe(),
                slots: Sequence[str] | None = None, type_stats: TypeStats | None = None,
                relation_stats: RelationStats | None = None,
                make_examples: Callable[..., TrainingData] = examples) -> tuple[TrainingData, dict[str, float]]:
    """Rows from real label pairs plus simulated ones, and the relation missing rates they imply.

    The simulated documents hide each gold triple with its relation's real missing rate, so the simulation
    resembles the real incompleteness; they must be scored by models that never trained on them.
    `make_examples` (same signature as `examples`) lets a recipe search pass a per-document cache: nested
    cross-validation rebuilds the rows of the same documents hundreds of times."""
    rates = missing_rates(real_incomplete, real_complete) if real_incomplete else {}
    slots = scored_slots(real_scores, sim_scores) if slots is None else tuple(slots)  # one column layout for all
    kw = {"slots": slots, "pool": recipe.pool, "type_stats": type_stats, "rates": rates,
          "relation_stats": relation_stats}
    parts = []
    if real_incomplete:
        parts.append(make_examples(real_incomplete, real_complete, real_scores, **kw))
    for draw in range(recipe.sim_draws if sim_complete else 0):
        hidden = hide_labels(sim_complete, recipe.hide, recipe.seed + draw, rates or None)
        sim = make_examples(hidden, sim_complete, sim_scores, **kw)
        parts.append(TrainingData(sim.features, sim.labels, sim.weights * (recipe.sim_weight / recipe.sim_draws),
                                  sim.groups, sim.feature_names))
    data = TrainingData.concat(parts)
    if recipe.neg_ratio is not None:
        data = downsample_negatives(data, recipe.neg_ratio, recipe.seed)
    return data, rates
