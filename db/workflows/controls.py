"""Making control items: choose known-truth triples and store them as ordinary suggestions.

Why they cannot be told apart: a control is stored through queries.suggestions.add_suggestions, with every run
that scored its document as a source and the support those runs' stored pair scores give for the triple
(engine.curate.support.build_support, the function real suggestions use; rules are computed from the labels
without the triple itself, as for a missing label), and the ranking note of the real item next to it in the
queue. Its score sits between two real items' scores at evenly spaced ranks, so in the queue's score order one
control comes about every 1/rate items and its score looks like its neighbours'.

Which triples: gold controls are labels of scored labelled documents; absent controls are triples that a
document vouched fully labelled lacks. Both are taken near the models' threshold (smallest |margin| of any model
that scored them), so neither is trivially answered. A triple already suggested is never taken. About half of each kind
when fully labelled documents exist (precision needs absent ones), else all gold."""
from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, exists, insert, select
from sqlalchemy.orm import Session

from engine.data.documents import Triple

from ..store import models as m
from ..store.clock import utc_now
from ..store.queries.controls import ABSENT, GOLD, control_ids, control_settings, target_count
from ..store.queries.documents import load_documents
from ..store.queries.learning import review_settings
from ..store.queries.runs import list_runs, load_pair_scores, scored_document_ids
from ..store.queries.suggestions import add_suggestions

log = logging.getLogger(__name__)
PER_DOCUMENT = 4  # at least this many candidates per document and kind (more when the need is larger)


@dataclass(frozen=True)
class ControlSync:
    """What sync_controls changed: controls added and (undecided) removed, and how many the queue holds now."""

    added: int
    removed: int
    total: int


@dataclass(frozen=True)
class _Candidate:
    document_id: int
    triple: Triple
    kind: str
    closeness: float  # |best margin|: smaller is nearer the threshold


def sync_controls(session: Session, dataset_id: int) -> ControlSync:
    """Bring the dataset's controls to its rate: add controls when the queue has grown or the rate risen,
    remove undecided ones (no review row at all, so the log loses nothing) when it fell, when controls are
    turned off, or when their document is no longer vouched fully labelled. Decided controls always stay."""
    settings = control_settings(session, dataset_id)
    in_dataset = select(m.SuggestionRow.id).join(m.DocumentRow).where(m.DocumentRow.dataset_id == dataset_id)
    reviewed = exists().where(m.ReviewRow.suggestion_id == m.ControlItemRow.suggestion_id)
    controls = session.execute(
        select(m.ControlItemRow.suggestion_id, m.ControlItemRow.kind, m.SuggestionRow.document_id, reviewed)
        .join(m.SuggestionRow, m.SuggestionRow.id == m.ControlItemRow.suggestion_id)
        .where(m.SuggestionRow.id.in_(in_dataset)).order_by(m.ControlItemRow.suggestion_id.desc())).all()
    if not settings.enabled and not controls:
        return ControlSync(0, 0, 0)  # off, as by default: nothing to read
    real = session.execute(select(m.SuggestionRow.id, m.SuggestionRow.score)
                           .where(m.SuggestionRow.id.in_(in_dataset), m.SuggestionRow.id.not_in(control_ids()))
                           .order_by(m.SuggestionRow.score.desc(), m.SuggestionRow.id)).all()
    full = set(settings.fully_labelled)
    stale = [sid for sid, kind, doc, decided in controls if not decided and kind == ABSENT and doc not in full]
    kept = [row for row in controls if row[0] not in stale]
    target = target_count(settings.rate, len(real))
    surplus = [sid for sid, _, _, decided in kept if not decided][:max(0, len(kept) - target)]
    _remove(session, stale + surplus)
    have = len(kept) - len(surplus)
    added = _add(session, dataset_id, real, full, target - have, seed=f"{dataset_id}:{have}") if have < target else 0
    if added or stale or surplus:
        log.info("dataset %d: %d controls added, %d removed (rate %.3f)", dataset_id, added, len(stale + surplus),
                 settings.rate)
    return ControlSync(added, len(stale) + len(surplus), have + added)


def _remove(session: Session, suggestion_ids: Sequence[int]) -> None:
    if not suggestion_ids:
        return
    for model in (m.ControlItemRow, m.AssignmentRow, m.SuggestionSourceRow):
        session.execute(delete(model).where(model.suggestion_id.in_(suggestion_ids)))
    session.execute(delete(m.SuggestionRow).where(m.SuggestionRow.id.in_(suggestion_ids)))


def _add(session: Session, dataset_id: int, real: Sequence[Any], full: set[int], n: int, *, seed: str) -> int:
    """Store up to n new controls spread through the queue's score order; returns how many were stored.
    Documents are visited in a random order and only until enough candidates are found, so a top-up after
    scoring a few documents of a large dataset does not read every document's scores."""
    from engine.curate.type_stats import load_default_type_stats  # noqa: PLC0415 - engine.curate only here

    runs = list_runs(session, dataset_id)
    scored = {run.id: set(scored_document_ids(session, run.id)) for run in runs}
    labelled = session.scalars(select(m.DocumentRow.id).where(m.DocumentRow.dataset_id == dataset_id,
                                                           m.DocumentRow.has_labels.is_(True)).order_by(m.DocumentRow.id))
    doc_ids = [i for i in labelled if any(i in s for s in scored.values())]
    if not doc_ids or not real:
        return 0
    rng = random.Random(seed)
    rng.shuffle(doc_ids)
    taken = set(session.execute(select(m.SuggestionRow.document_id, m.SuggestionRow.h, m.SuggestionRow.t,
                                       m.SuggestionRow.relation)
                                .join(m.DocumentRow).where(m.DocumentRow.dataset_id == dataset_id)).tuples().all())
    per_doc = max(PER_DOCUMENT, -(-n // len(doc_ids)))  # few documents: more from each
    pool: dict[str, list[_Candidate]] = {GOLD: [], ABSENT: []}
    docs: dict[int, Any] = {}
    per_model: dict[int, dict[str, Any]] = {}
    run_ids: dict[int, list[int]] = {}
    for doc_id in doc_ids:
        if len(pool[GOLD]) >= n and (len(pool[ABSENT]) >= n or not full):
            break
        docs[doc_id] = load_documents(session, [doc_id])[doc_id]
        run_ids[doc_id] = [run.id for run in runs if doc_id in scored[run.id]]
        # the models named as db.workflows.scoring.refresh_suggestions names them, so the evidence reads the same
        per_model[doc_id] = {f"{run.method}#{run.id}": load_pair_scores(session, run.id, doc_id)
                             for run in runs if doc_id in scored[run.id]}
        for c in _candidates(doc_id, docs[doc_id], per_model[doc_id], taken, per_doc, fully_labelled=doc_id in full):
            pool[c.kind].append(c)
    for kind in pool:
        rng.shuffle(pool[kind])
    n_absent = min(len(pool[ABSENT]), n // 2)
    chosen = pool[ABSENT][:n_absent] + pool[GOLD][:n - n_absent]
    chosen += pool[ABSENT][n_absent:n_absent + n - len(chosen)]  # too few gold ones: more absent ones
    rng.shuffle(chosen)
    placed = spread_scores([score for _, score in real], len(chosen))
    ranking = _rankings(session, [real[rank][0] for _, rank in placed])
    stats, _ = load_default_type_stats()
    owners = _owners(session, dataset_id)
    overlap = min(review_settings(session, dataset_id).overlap, len(owners))
    for c, (score, rank) in zip(chosen, placed, strict=True):
        sid = _store(session, dataset_id, c, docs[c.document_id], per_model[c.document_id], run_ids[c.document_id],
                     stats, score, ranking.get(real[rank][0]))
        if owners:  # a split queue shows each annotator only their share: deal it to the k who hold the fewest
            fewest = sorted(owners, key=lambda a: (owners[a], a))[:overlap]
            for owner in fewest:
                owners[owner] += 1
            session.execute(insert(m.AssignmentRow), [{"suggestion_id": sid, "annotator_id": owner,
                                                    "created_at": utc_now()} for owner in fewest])
    return len(chosen)


def _candidates(doc_id: int, doc: Any, per_model: Mapping[str, Any], taken: set[tuple[int, int, int, str]],
                per_doc: int, *, fully_labelled: bool) -> list[_Candidate]:
    """The document's gold labels and (when vouched complete) absent triples nearest some model's threshold."""
    gold = {(f.h, f.t, f.r) for f in doc.facts or ()}
    free = lambda x: x[0] != x[1] and (doc_id, *x) not in taken  # noqa: E731
    near_gold: dict[Triple, float] = {}
    near_absent: dict[Triple, float] = {}
    for ps in per_model.values():
        closeness = np.abs(ps.margins)  # (n_pairs, n_rel)
        for h, t, r in gold:
            if r in ps.relation_ids and free((h, t, r)):
                try:
                    value = float(closeness[ps.pair(h, t), ps.relation_ids.index(r)])
                except KeyError:
                    continue
                near_gold[(h, t, r)] = min(value, near_gold.get((h, t, r), np.inf))
        if not fully_labelled or not closeness.size:
            continue
        found = 0
        for flat in np.argsort(closeness, axis=None, kind="stable"):  # nearest the threshold first
            p, j = divmod(int(flat), closeness.shape[1])
            x = (int(ps.heads[p]), int(ps.tails[p]), ps.relation_ids[j])
            if x not in gold and free(x):  # most near ones are suggestions already: skip on to the next
                near_absent[x] = min(float(closeness[p, j]), near_absent.get(x, np.inf))
                found += 1
                if found == per_doc:
                    break
    out = []
    for kind, near in ((GOLD, near_gold), (ABSENT, near_absent)):
        ranked = sorted(near.items(), key=lambda item: (item[1], item[0]))[:per_doc]
        out += [_Candidate(doc_id, x, kind, value) for x, value in ranked]
    return out


def spread_scores(real_desc: Sequence[float], n: int) -> list[tuple[float, int]]:
    """n (score, neighbour rank) pairs placing n controls evenly through real items sorted best first: control j
    goes just after the real item at rank (j + 1) * len / (n + 1), halfway to the next one's score."""
    out = []
    for j in range(n):
        rank = min(len(real_desc) - 1, (j + 1) * len(real_desc) // (n + 1))
        upper = real_desc[rank]
        lower = real_desc[rank + 1] if rank + 1 < len(real_desc) else upper - abs(upper) * 0.01
        out.append((round((upper + lower) / 2, 6), rank))
    return out


def _rankings(session: Session, suggestion_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The ranking note ("ranking" in the stored support) of real items, by suggestion id."""
    out: dict[int, dict[str, Any]] = {}
    for sid, evidence in session.execute(select(m.SuggestionSourceRow.suggestion_id, m.SuggestionSourceRow.evidence)
                                         .where(m.SuggestionSourceRow.suggestion_id.in_(list(suggestion_ids)))):
        if isinstance(evidence, Mapping) and isinstance(evidence.get("ranking"), Mapping):
            out.setdefault(sid, dict(evidence["ranking"]))
    return out


def _store(session: Session, dataset_id: int, c: _Candidate, doc: Any, per_model: Mapping[str, Any],
           run_ids: Sequence[int], stats: Any, score: float, ranking: Mapping[str, Any] | None) -> int:
    """One control as an ordinary suggestion (same path, same fields) and its mark; returns its id."""
    from engine.curate.relation_logic import RuleIndex  # noqa: PLC0415
    from engine.curate.support import build_support  # noqa: PLC0415 - engine.curate only when controls are made

    h, t, r = c.triple
    labels = {(f.h, f.t, f.r) for f in doc.facts or ()} - {c.triple}  # as if the label were missing
    types = tuple(e.type for e in doc.entities)
    fit = stats.fits(r, types[h], types[t]) if stats is not None else None
    if ranking is not None and "probability" in ranking:
        ranking = {**ranking, "probability": round(score, 5)}
    support = build_support(doc, per_model, h, t, r, fit, RuleIndex.from_labels(labels, types).rules_for(h, t, r),
                            ranking)
    (sid,) = add_suggestions(session, dataset_id, [{"doc_id": c.document_id, "h_idx": h, "t_idx": t, "relation": r,
                                                    "score": score, "evidence": support.to_json()}], run_ids=run_ids)
    session.execute(insert(m.ControlItemRow), [{"suggestion_id": sid, "kind": c.kind, "created_at": utc_now()}])
    return sid


def _owners(session: Session, dataset_id: int) -> dict[int, int]:
    """Suggestions assigned per annotator id in the dataset (empty: the queue is not split)."""
    owners: dict[int, int] = defaultdict(int)
    for owner in session.scalars(select(m.AssignmentRow.annotator_id)
                                 .join(m.SuggestionRow, m.SuggestionRow.id == m.AssignmentRow.suggestion_id)
                                 .join(m.DocumentRow).where(m.DocumentRow.dataset_id == dataset_id)):
        owners[owner] += 1
    return owners
