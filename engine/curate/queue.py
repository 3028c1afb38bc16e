"""The review queue as the ranker sees it: every document's candidates with their static features, built
once, and the label-dependent features rebuilt from the labels as they stand (gold plus accepted decisions).

Building the static block is the costly part (a pass over every scored triple per document); re-ranking after a
decision only redoes the label block, so the app can re-order thousands of candidates in well under a
second."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine.curate.candidate_features import (
    DocumentCandidates,
    Pool,
    Triple,
    document_candidates,
    label_features,
    scored_slots,
    slot_scores,
)
from engine.curate.decisions import Decision, by_title
from engine.curate.ranker import Ranker
from engine.curate.relation_stats import RelationStats
from engine.curate.type_stats import TypeStats
from engine.data.documents import Document
from engine.data.pair_scores import PairScores
from engine.errors import DocreError

Key = tuple[int, int, int, str]  # (document position, head, tail, relation id)


class QueueError(DocreError, ValueError):
    """Scores and documents do not line up."""


@dataclass(frozen=True)
class CandidateQueue:
    """Candidates of many documents (aligned with `documents`; unlabelled or unscored documents have none)."""

    documents: tuple[Document, ...]
    candidates: tuple[DocumentCandidates, ...]
    offsets: np.ndarray  # (n_docs + 1,) row ranges of each document in `features()`
    slots: tuple[str, ...]  # the model families of the feature columns, in order
    type_stats: TypeStats | None = None
    missing_rates: Mapping[str, float] | None = None
    relation_stats: RelationStats | None = None

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def keys(self) -> list[Key]:
        return [(i, h, t, r) for i, c in enumerate(self.candidates) for h, t, r in c.triples()]

    def mean_margins(self) -> np.ndarray:
        """(n,) the ranking's tie-break."""
        return np.concatenate([c.mean_margin for c in self.candidates]) if self.candidates else np.zeros(0)

    def features(self, accepted: Mapping[str, Iterable[Triple]] | None = None,
                 docs: Sequence[int] | None = None) -> np.ndarray:
        """(n, n_features) for every candidate (or those of document positions `docs`), labels being each
        document's gold triples plus its `accepted` ones (by title)."""
        accepted = accepted or {}
        blocks = []
        for i in (range(len(self.documents)) if docs is None else docs):
            doc, cands = self.documents[i], self.candidates[i]
            labels = {(f.h, f.t, f.r) for f in doc.facts or ()} | set(accepted.get(doc.title, ()))
            blocks.append(np.concatenate([cands.static, label_features(doc, cands, labels, self.relation_stats)],
                                         axis=1))
        return np.concatenate(blocks) if blocks else np.zeros((0, 0), dtype=np.float32)


def build_queue(documents: Sequence[Document], scores_by_model: Mapping[str, Sequence[PairScores | None]], *,
                slots: Sequence[str] | None = None, pool: Pool = Pool(), type_stats: TypeStats | None = None,
                missing_rates: Mapping[str, float] | None = None, relation_stats: RelationStats | None = None,
                exclude: Mapping[str, Iterable[Triple]] | None = None) -> CandidateQueue:
    """Every labelled document's candidates, minus the triples `exclude` names per title (decided ones).
    Score lists align with `documents` by position; None means that model did not score that document.
    `slots` (a ranker's, to score with it) defaults to the families of the models that scored."""
    for name, scores in scores_by_model.items():
        if len(scores) != len(documents):
            raise QueueError(f"model {name!r} has scores for {len(scores)} documents, expected {len(documents)}")
    slots = scored_slots(scores_by_model) if slots is None else tuple(slots)
    exclude = exclude or {}
    cands = []
    for i, doc in enumerate(documents):
        per_model = {name: s[i] for name, s in scores_by_model.items() if s[i] is not None}
        for name, ps in per_model.items():
            if ps.title != doc.title:
                raise QueueError(f"model {name!r}: scores of {ps.title!r} where document {doc.title!r} was "
                                 "expected; score lists must follow the documents' order")
        if doc.facts is None or not slot_scores(per_model, slots):
            cands.append(document_candidates(doc, {}, slots=slots, pool=pool, only=()))
            continue
        cands.append(document_candidates(doc, per_model, slots=slots, pool=pool, type_stats=type_stats,
                                         missing_rates=missing_rates, exclude=exclude.get(doc.title, ())))
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in cands])]).astype(np.int64)
    return CandidateQueue(tuple(documents), tuple(cands), offsets, tuple(slots), type_stats, missing_rates,
                          relation_stats)


def ranked_order(probabilities: np.ndarray, mean_margins: np.ndarray) -> np.ndarray:
    """Row order, best first: probability, then mean margin, then queue order (reproducible)."""
    return np.lexsort((np.arange(len(probabilities)), -mean_margins, -probabilities))


@dataclass(frozen=True)
class RankedQueue:
    """The pending candidates (queue rows not decided), best first, with their calibrated probabilities."""

    rows: np.ndarray  # (n_pending,) queue row indices, best first
    probabilities: np.ndarray  # (n_pending,) in the same order


def rank_pending(queue: CandidateQueue, ranker: Ranker, decisions: Sequence[Decision] = ()) -> RankedQueue:
    """Score every candidate with the labels as they stand (gold plus accepted decisions) and order the
    ones nobody decided: what the review page should show next."""
    decided = by_title(decisions)
    probs = ranker.probability(queue.features(by_title(decisions, accepted=True)))
    keys = queue.keys()
    pending = np.array([(h, t, r) not in decided.get(queue.documents[i].title, ()) for i, h, t, r in keys], dtype=bool)
    rows = np.nonzero(pending)[0]
    order = ranked_order(probs[rows], queue.mean_margins()[rows])
    return RankedQueue(rows[order], probs[rows][order])
