"""After an entity edit, rescore only the pairs it touched (no Streamlit here).

How: each run that scored the document re-predicts the edited document with its checkpoint (the encoder reads
the whole text once, as any scoring does), and the stored scores take the fresh rows of exactly the pairs with
an end in `affected` (db.store.queries.entity_edits puts them in the edit's details); every other pair keeps
the scores it had, bit for bit, so the review queue and its decisions on them do not move."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from engine.data.pair_scores import PairScores

from .. import store
from ..store.session import session_scope

log = logging.getLogger(__name__)


def splice_scores(old: PairScores, fresh: PairScores, affected: Iterable[int], n_entities: int) -> PairScores:
    """`old` for every pair without an end in `affected`, `fresh` for those with one (and pairs `old` lacks)."""
    touched = np.asarray(sorted(set(affected)), dtype=np.int64)
    keep = (~(np.isin(old.heads, touched) | np.isin(old.tails, touched))
            & (old.heads < n_entities) & (old.tails < n_entities))
    kept = {(int(h), int(t)) for h, t in zip(old.heads[keep], old.tails[keep])}
    take = np.array([p for p, (h, t) in enumerate(zip(fresh.heads.tolist(), fresh.tails.tolist()))
                     if (h, t) not in kept], dtype=np.int64)  # (n_new,)
    return PairScores.concat([old.take(np.nonzero(keep)[0]), fresh.take(take)])


def rescore_affected(factory_: sessionmaker[Session], document_id: int, affected: Iterable[int],
                     load_model: Callable[[str], Any]) -> int:
    """Replace the scores of pairs touching `affected` in every run of the document; returns the runs updated.
    `load_model`: checkpoint path -> Predictor (db.workflows.worker.load_model caches them)."""
    affected = sorted(set(affected))
    with session_scope(factory_) as s:
        doc = store.load_document(s, document_id)
        runs = store.scoring_runs(s, document_id)
    for run_id, checkpoint in runs:
        (fresh,) = load_model(checkpoint).predict([doc])
        with session_scope(factory_) as s:
            old = store.load_pair_scores(s, run_id, document_id)
            store.save_pair_scores(s, run_id, document_id, splice_scores(old, fresh, affected, len(doc.entities)))
        log.info("document %d: run %d rescored pairs of entities %s", document_id, run_id, affected)
    return len(runs)
