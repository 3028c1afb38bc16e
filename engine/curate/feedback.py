"""Learning from review decisions: refit the ranker on its default training rows plus the annotator's
decisions, so that the pending queue re-orders around what this annotator, on these documents, accepts.
A ranker that is a bag of boosters is refitted as `refit_models` of them (one by default): each booster
costs a refit's time again, and a refit must take seconds.

Why up-weight: the default rows number in the tens of thousands and a session's decisions in the tens or
hundreds, so at weight 1 a refit would barely move. Each decision weighs `share * W / max(n, floor)`,
with W the default rows' total weight and n the number of decisions: from `floor` decisions on they carry
`share` of the total (default a quarter), and below that each counts as much as it would at `floor`, so
the first 25 answers nudge the order instead of overturning it. Calibration counts every decision once.

A decision's features are those of its triple with the labels as they stand (gold plus every accepted
decision except itself), the same view a pending candidate gets, so accepted-alike candidates rise."""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from engine.curate.candidate_features import DocumentCandidates, document_candidates, feature_names, label_features
from engine.curate.decisions import Decision, by_title
from engine.curate.queue import CandidateQueue, build_queue
from engine.curate.ranker import DEFAULT_RANKER, Ranker, RankerError, TrainingData, fit_ranker
from engine.curate.relation_stats import RelationStats
from engine.curate.type_stats import TypeStats
from engine.data.documents import Document
from engine.data.pair_scores import PairScores

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedbackWeighting:
    """How much the decisions weigh in a refit (see the module docstring)."""

    share: float = 0.25
    floor: int = 200


def decision_rows(queue: CandidateQueue, decisions: Sequence[Decision],
                  scores_by_model: Mapping[str, Sequence[PairScores | None]] | None = None) -> TrainingData:
    """Feature rows of the decided triples (label 1 = accepted). Triples in the queue reuse its static
    features; others (a corrected relation outside the pool) are built from `scores_by_model`, and are
    skipped with a warning without them. Decisions on documents outside the queue are skipped."""
    doc_pos = {d.title: i for i, d in enumerate(queue.documents)}
    accepted = by_title(decisions, accepted=True)
    feats, labels, groups = [], [], []
    skipped = 0
    for title, wanted_set in sorted(by_title(decisions).items()):
        wanted = sorted(wanted_set)  # sets iterate in hash order, which changes per process: rows must not
        i = doc_pos.get(title)
        if i is None:
            skipped += len(wanted)
            continue
        doc, cands = queue.documents[i], queue.candidates[i]
        local = {tr: k for k, tr in enumerate(cands.triples())}
        inside = [tr for tr in wanted if tr in local]
        outside = [tr for tr in wanted if tr not in local]
        static = [cands.static[local[tr]] for tr in inside]
        triples = list(inside)
        if outside and scores_by_model is not None:
            per_model = {n: s[i] for n, s in scores_by_model.items() if s[i] is not None}
            extra = document_candidates(doc, per_model, slots=queue.slots, type_stats=queue.type_stats,
                                        missing_rates=queue.missing_rates, only=outside)
            static += list(extra.static)
            triples += extra.triples()
        skipped += len(wanted) - len(triples)
        if not triples:
            continue
        gold = {(f.h, f.t, f.r) for f in doc.facts or ()} | accepted.get(title, set())
        sub = DocumentCandidates(title, np.array([h for h, _, _ in triples]), np.array([t for _, t, _ in triples]),
                                 tuple(r for _, _, r in triples), np.stack(static), np.zeros(len(triples)),
                                 cands.predicted)
        is_accepted = np.array([tr in accepted.get(title, ()) for tr in triples])
        block = label_features(doc, sub, gold, queue.relation_stats)  # (n, n_label) with the accepted ones labelled
        for k in np.nonzero(is_accepted)[0]:  # an accepted triple is seen as it was: not yet a label
            one = DocumentCandidates(title, sub.heads[k:k + 1], sub.tails[k:k + 1], sub.relations[k:k + 1],
                                     sub.static[k:k + 1], sub.mean_margin[k:k + 1], cands.predicted)
            block[k] = label_features(doc, one, gold - {triples[k]}, queue.relation_stats)[0]
        feats.append(np.concatenate([sub.static, block], axis=1))
        labels.append(is_accepted.astype(np.int8))
        groups += [title] * len(triples)
    if skipped:
        log.warning("%d decisions name documents or triples the queue cannot score; they are left out of the refit",
                    skipped)
    names = feature_names(queue.slots)
    if not feats:
        return TrainingData(np.zeros((0, len(names)), np.float32), np.zeros(0, np.int8), np.zeros(0, np.float32),
                            np.zeros(0, str), names)
    X = np.concatenate(feats).astype(np.float32)
    return TrainingData(X, np.concatenate(labels), np.ones(len(X), np.float32), np.array(groups, dtype=str), names)


def refit_with_decisions(ranker: Ranker, rows: TrainingData,
                         weighting: FeedbackWeighting = FeedbackWeighting()) -> Ranker:
    """The ranker refitted on its default training rows plus decision rows (see the module docstring)."""
    base = ranker.training
    if base is None:
        raise RankerError("this ranker was saved without its training rows (training.npz), so it cannot be refitted "
                          "with decisions; save it with with_training=True or use the shipped ranker")
    if len(rows) == 0:
        return ranker
    if rows.feature_names != base.feature_names:
        raise RankerError(f"decision rows have {len(rows.feature_names)} features, the ranker's training rows "
                          f"{len(base.feature_names)}: build the queue with the ranker's slots (ranker.slots)")
    w = weighting.share * float(base.weights.sum()) / max(len(rows), weighting.floor)
    weighted = TrainingData(rows.features, rows.labels, np.full(len(rows), w, np.float32), rows.groups,
                            base.feature_names)
    data = TrainingData.concat([base, weighted])
    calibration = np.concatenate([base.weights, np.ones(len(rows), np.float32)])
    info = {**ranker.info, "decisions": len(rows), "accepted": int(rows.labels.sum()), "decision_weight": round(w, 3)}
    return fit_ranker(data, slots=ranker.slots, pool=ranker.pool, missing_rates=ranker.missing_rates,
                      config=replace(ranker.config, n_models=min(ranker.config.n_models, ranker.config.refit_models),
                                     num_threads=ranker.config.refit_threads),
                      info=info, calibration_weights=calibration, keep_training=base)


def learn_from_decisions(documents: Sequence[Document], scores_by_model: Mapping[str, Sequence[PairScores | None]],
                         decisions: Sequence[Decision], *, ranker: Ranker | None = None,
                         type_stats: TypeStats | None = None, relation_stats: RelationStats | None = None,
                         queue: CandidateQueue | None = None,
                         weighting: FeedbackWeighting = FeedbackWeighting()) -> Ranker:
    """A ranker refitted with `decisions` on `documents` (scores aligned by position, as for `suggest`).

    The app's entry point: pass the documents under review, their scores, every decision so far (e.g.
    `decisions_from_json(rows)`) and the ranker in use (default: the shipped one); a refit takes a few
    seconds on two cores. Pass `queue` (from `build_queue`) when one is at hand to skip rebuilding it."""
    ranker = ranker if ranker is not None else Ranker.load(DEFAULT_RANKER)
    if queue is None:
        queue = build_queue(documents, scores_by_model, slots=ranker.slots, pool=ranker.pool, type_stats=type_stats,
                            missing_rates=ranker.missing_rates, relation_stats=relation_stats)
    return refit_with_decisions(ranker, decision_rows(queue, decisions, scores_by_model), weighting)

