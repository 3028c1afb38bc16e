"""The learned ranker under document-level cross-validation, and simulated review sessions, for
bench/fn_recovery.py.

Cross-validation: the setting's documents are dealt into k folds by title; the ranker of fold k is trained
by the shipped recipe (engine.curate.ranker_data.recipe_data) on the Revisit label pairs and the simulated
held-out documents whose titles are NOT in fold k, and ranks only fold k's candidates. So no document is
ranked by a ranker that learned from it, in either setting (the Revisit titles are held-out titles too).

Session: an annotator answers the queue's top items truthfully (accept iff the complete labels hold the
triple) until the budget is spent; every `batch` answers the queue is re-ordered. Modes:
- static: the cross-validated order, never re-ordered;
- rerank: accepted triples become labels (so their inverse, chain and pair counterparts move), no refit;
- refit: the same plus every fold's ranker refitted on its training rows and all answers so far
  (engine.curate.feedback.refit_with_decisions). Answers are what the annotator revealed in this session,
  so using them on every document of the queue is what the app does too."""
from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.curate.candidate_features import Pool, feature_names, scored_slots
from engine.curate.decisions import Decision, by_title
from engine.curate.feedback import FeedbackWeighting, decision_rows, refit_with_decisions
from engine.curate.queue import CandidateQueue, build_queue, ranked_order
from engine.curate.ranker import Ranker, RankerConfig, TrainingData, fit_ranker
from engine.curate.ranker_data import (
    TrainingRecipe,
    examples,
    recipe_data,
    set_missing_rates,
    triples,
    with_missing_rates,
)
from engine.curate.relation_stats import RelationStats
from engine.curate.type_stats import TypeStats
from engine.data.documents import Document
from engine.data.pair_scores import PairScores

Scores = Mapping[str, Sequence[PairScores]]
Key = tuple[int, int, int, str]


def subset(scores: Scores, rows: Sequence[int]) -> dict[str, list[PairScores]]:
    return {name: [s[i] for i in rows] for name, s in scores.items()}


@dataclass(frozen=True)
class TrainingSources:
    """What the ranker may learn from: Revisit label pairs and complete held-out documents to simulate on,
    each with the shipped models' scores (aligned by position)."""

    real_incomplete: Sequence[Document]
    real_complete: Sequence[Document]
    real_scores: Scores
    sim_complete: Sequence[Document]
    sim_scores: Scores

    def without(self, titles: set[str]) -> "TrainingSources":
        """The sources minus every document whose title is in `titles`."""
        real = [i for i, d in enumerate(self.real_incomplete) if d.title not in titles]
        sim = [i for i, d in enumerate(self.sim_complete) if d.title not in titles]
        return TrainingSources([self.real_incomplete[i] for i in real], self.real_complete,
                               subset(self.real_scores, real), [self.sim_complete[i] for i in sim],
                               subset(self.sim_scores, sim))


@dataclass
class CrossValidated:
    """Out-of-fold probabilities for every candidate of one setting, with each fold's ranker."""

    queue: CandidateQueue
    fold_rows: list[np.ndarray]
    rankers: list[Ranker]
    probabilities: np.ndarray
    fit_seconds: list[float] = field(default_factory=list)
    rank_seconds: float = 0.0

    def predict(self, rankers: Sequence[Ranker], accepted: Mapping[str, set] | None = None) -> np.ndarray:
        """Every candidate's probability from its own fold's ranker, labels = gold + accepted."""
        features = self.queue.features(accepted)
        names = feature_names(self.queue.slots)
        out = np.zeros(len(self.queue))
        for rows, ranker in zip(self.fold_rows, rankers):
            out[rows] = ranker.probability(set_missing_rates(features[rows], names, ranker.missing_rates))
        return out


class RowCache:
    """Per-document training rows and whole test queues, kept between cross-validations of one process.

    A recipe search cross-validates the same documents many times; what it rebuilds is the same rows
    (a document's candidates depend only on its labels and the pool). Rows are kept per (title, labels,
    pool) with the relation_missing_rate column rewritten per call, since the rates change with the fold."""

    def __init__(self, type_stats: TypeStats | None, relation_stats: RelationStats | None) -> None:
        self.type_stats, self.relation_stats = type_stats, relation_stats
        self._rows: dict[tuple, TrainingData] = {}
        self._queues: dict[tuple, CandidateQueue] = {}

    def examples(self, incomplete: Sequence[Document], complete: Sequence[Document], scores: Scores, *,
                 slots: Sequence[str], pool: Pool, rates: Mapping[str, float] | None, **_: object) -> TrainingData:
        """`ranker_data.examples`, one document at a time through the cache."""
        by_title = {d.title: d for d in complete}
        parts = []
        for i, doc in enumerate(incomplete):
            key = (doc.title, frozenset(triples(doc)), pool, tuple(slots))
            if key not in self._rows:
                self._rows[key] = examples([doc], [by_title[doc.title]], subset(scores, [i]), slots=slots, pool=pool,
                                           type_stats=self.type_stats, relation_stats=self.relation_stats)
            parts.append(self._rows[key])
        return with_missing_rates(TrainingData.concat(parts), rates or {})

    def queue(self, documents: Sequence[Document], scores: Scores, pool: Pool,
              slots: Sequence[str]) -> CandidateQueue:
        key = (tuple(d.title for d in documents), pool, tuple(slots))
        if key not in self._queues:
            self._queues[key] = build_queue(documents, scores, slots=slots, pool=pool,
                                            type_stats=self.type_stats, relation_stats=self.relation_stats)
        return self._queues[key]


def deal_folds(documents: Sequence[Document], k: int, seed: int) -> dict[str, int]:
    """Title -> fold: sorted titles shuffled by `seed`, dealt round-robin (the same folds for the same seed,
    so a recipe search can hold out exactly the documents the cross-validation will test on)."""
    titles = sorted({d.title for d in documents})
    random.Random(seed).shuffle(titles)
    return {t: i % k for i, t in enumerate(titles)}


def cross_validate(documents: Sequence[Document], scores: Scores, sources: TrainingSources, *, k: int, seed: int,
                   type_stats: TypeStats | None, relation_stats: RelationStats | None,
                   recipe: TrainingRecipe = TrainingRecipe(), config: RankerConfig = RankerConfig(),
                   cache: RowCache | None = None) -> CrossValidated:
    """Out-of-fold probabilities (see the module docstring); `cache` only saves time, never changes a row."""
    fold_of = deal_folds(documents, k, seed)
    # the families of the models that scored (as `engine train-ranker` does), not the shipped ranker's: a
    # ranker trained on six models' scores is built and tested on six slots
    slots = scored_slots(scores, sources.real_scores, sources.sim_scores)
    queue = cache.queue(documents, scores, recipe.pool, slots) if cache else build_queue(
        documents, scores, slots=slots, pool=recipe.pool, type_stats=type_stats, relation_stats=relation_stats)
    row_fold = np.concatenate([[fold_of[queue.documents[i].title]] * len(c) for i, c in enumerate(queue.candidates)]
                              ).astype(int) if len(queue) else np.zeros(0, int)
    rankers, fits = [], []
    for f in range(k):
        held = {t for t, g in fold_of.items() if g == f}
        src = sources.without(held)
        data, rates = recipe_data(src.real_incomplete, src.real_complete, src.real_scores, src.sim_complete,
                                  src.sim_scores, recipe=recipe, slots=slots, type_stats=type_stats,
                                  relation_stats=relation_stats,
                                  **({"make_examples": cache.examples} if cache else {}))
        start = time.perf_counter()
        rankers.append(fit_ranker(data, slots=slots, pool=recipe.pool, missing_rates=rates, config=config,
                                  info={"fold": f}, keep_training=recipe.refit_rows(data)))
        fits.append(time.perf_counter() - start)
    cv = CrossValidated(queue, [np.nonzero(row_fold == f)[0] for f in range(k)], rankers, np.zeros(len(queue)), fits)
    start = time.perf_counter()
    cv.probabilities = cv.predict(rankers)
    cv.rank_seconds = time.perf_counter() - start
    return cv


@dataclass(frozen=True)
class SessionResult:
    """Cumulative found missing labels after each answer, and the refit times (seconds per round)."""

    mode: str
    found: np.ndarray  # (budget,)
    refit_seconds: tuple[float, ...]


def review_session(cv: CrossValidated, truth: set[Key], budget: int, *, mode: str, batch: int = 25,
                   weighting: FeedbackWeighting = FeedbackWeighting()) -> SessionResult:
    """Simulate an annotator working down the queue (see the module docstring for the modes)."""
    keys = cv.queue.keys()
    margins = cv.queue.mean_margins()
    probs = cv.probabilities.copy()
    decided = np.zeros(len(keys), dtype=bool)
    decisions: list[Decision] = []
    hits: list[bool] = []
    refits: list[float] = []
    budget = min(budget, len(keys))
    while len(hits) < budget:
        pending = np.nonzero(~decided)[0]
        take = pending[ranked_order(probs[pending], margins[pending])[:min(batch, budget - len(hits))]]
        for row in take.tolist():
            i, h, t, r = keys[row]
            found = keys[row] in truth
            decisions.append(Decision(cv.queue.documents[i].title, h, t, r, found))
            hits.append(found)
            decided[row] = True
        if mode == "static" or len(hits) >= budget:
            continue
        rankers = cv.rankers
        if mode == "refit":
            start = time.perf_counter()
            rows = decision_rows(cv.queue, decisions)
            rankers = [refit_with_decisions(rk, with_missing_rates(rows, rk.missing_rates), weighting)
                       for rk in cv.rankers]
            refits.append((time.perf_counter() - start) / len(rankers))
        probs = cv.predict(rankers, by_title(decisions, accepted=True))
    return SessionResult(mode, np.cumsum(hits), tuple(refits))
