"""Model runs and their pair scores, kept compact: one blob per run and document, a compressed NumPy archive
(engine.data.pair_scores_npz, the CLI's score-cache form); blobs stored before it, zlib-compressed JSON, still
read. JSON held every logit as a Python float while it was written or read back: gigabytes for one long
document (issue 25), where the arrays take a few hundred MB."""
from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.data.pair_scores import PairScores
from engine.data.pair_scores_npz import NPZ_MAGIC, scores_from_bytes, scores_to_bytes

from .. import models as m
from ..clock import as_utc, utc_now
from ..domain import RunInfo
from ..errors import NotFoundError
from .jobs import unfinished_run_ids


def record_run(session: Session, dataset_id: int, *, checkpoint: str, method: str, version: str, seconds: float,
               details: Mapping[str, Any] | None = None) -> int:
    """Remember that a checkpoint scored a dataset (how long it took, which code version); returns the run id."""
    if session.get(m.DatasetRow, dataset_id) is None:
        raise NotFoundError(f"no dataset with id {dataset_id}; record the run against an existing dataset")
    if seconds < 0:
        raise ValueError(f"run seconds: expected a duration >= 0, got {seconds}")
    row = m.ModelRunRow(dataset_id=dataset_id, checkpoint=str(checkpoint), method=method, version=version,
                     seconds=float(seconds), details=dict(details or {}), created_at=utc_now())
    session.add(row)
    session.flush()
    return row.id


def run_of_model(session: Session, dataset_id: int, *, checkpoint: str, method: str, version: str,
                 details: Mapping[str, Any] | None = None) -> int:
    """The dataset's run of this model (checkpoint, method, engine version), recorded with no time yet when
    there is none: one run per model and dataset, so scoring more documents or rescoring adds to it and
    Evaluate lists each model once. The several runs a database from before kept of one model were merged into
    its newest by the migration 31d7dee0a0b6 (one_run_per_model)."""
    found = session.scalar(select(m.ModelRunRow.id).where(
        m.ModelRunRow.dataset_id == dataset_id, m.ModelRunRow.checkpoint == str(checkpoint),
        m.ModelRunRow.method == method, m.ModelRunRow.version == version).order_by(m.ModelRunRow.id.desc()).limit(1))
    if found is not None:
        return int(found)
    return record_run(session, dataset_id, checkpoint=checkpoint, method=method, version=version, seconds=0.0,
                      details=details)


def _run_query() -> Any:
    n_scored = (select(func.count(m.PairScoreBlobRow.id)).where(m.PairScoreBlobRow.run_id == m.ModelRunRow.id)
                .scalar_subquery())
    return select(m.ModelRunRow, n_scored)


def _to_run(row: m.ModelRunRow, n_scored: int) -> RunInfo:
    return RunInfo(row.id, row.dataset_id, row.checkpoint, row.method, row.version, row.seconds,
                   as_utc(row.created_at), dict(row.details), n_scored)


def list_runs(session: Session, dataset_id: int | None = None, *, finished_only: bool = False) -> list[RunInfo]:
    """Runs, newest first, optionally of one dataset; finished_only leaves out the runs of scoring jobs not
    done yet (they hold only the documents scored so far)."""
    query = _run_query().order_by(m.ModelRunRow.id.desc())
    if dataset_id is not None:
        query = query.where(m.ModelRunRow.dataset_id == dataset_id)
    hidden = unfinished_run_ids(session, dataset_id) if finished_only else set()
    return [_to_run(run, n) for run, n in session.execute(query) if run.id not in hidden]


def get_run(session: Session, run_id: int) -> RunInfo:
    row = session.execute(_run_query().where(m.ModelRunRow.id == run_id)).one_or_none()
    if row is None:
        raise NotFoundError(f"no model run with id {run_id}; list_runs() shows the ones there are")
    return _to_run(*row)


@dataclass(frozen=True)
class EncodedScores:
    """A document's scores already in their stored form. A scoring job encodes a long document's scores and
    frees the arrays before the write: the database driver copies the blob (SQLite twice), and arrays, blob and
    copies together were the app's peak on a 540-entity text (1.5 GB against the CLI's 0.9 GB)."""

    payload: bytes
    n_pairs: int


def encode_scores(scores: PairScores) -> EncodedScores:
    return EncodedScores(scores_to_bytes(scores), len(scores.heads))


def decode_scores(payload: bytes, where: str = "stored pair scores") -> PairScores:
    """Either form: the archive, or the zlib-compressed JSON of stores written before it."""
    if bytes(payload[:2]) == NPZ_MAGIC:
        return scores_from_bytes(bytes(payload), where)
    return PairScores.from_json(json.loads(zlib.decompress(payload).decode("utf-8")))


def save_pair_scores(session: Session, run_id: int, doc_id: int, scores: PairScores | EncodedScores) -> None:
    """Store a run's scores for a document (as arrays, or encoded by encode_scores), replacing any saved before
    (a re-run after a crash)."""
    if session.get(m.ModelRunRow, run_id) is None:
        raise NotFoundError(f"no model run with id {run_id}; record_run() first")
    encoded = scores if isinstance(scores, EncodedScores) else encode_scores(scores)
    session.execute(delete(m.PairScoreBlobRow).where(m.PairScoreBlobRow.run_id == run_id,
                                                  m.PairScoreBlobRow.document_id == doc_id))
    row = m.PairScoreBlobRow(run_id=run_id, document_id=doc_id, n_pairs=encoded.n_pairs, payload=encoded.payload)
    session.add(row)
    session.flush()
    session.expunge(row)  # the session need not hold the blob until commit


def load_pair_scores(session: Session, run_id: int, doc_id: int) -> PairScores:
    payload = session.scalar(select(m.PairScoreBlobRow.payload).where(m.PairScoreBlobRow.run_id == run_id,
                                                                 m.PairScoreBlobRow.document_id == doc_id))
    if payload is None:
        raise NotFoundError(f"run {run_id} has no scores for document {doc_id}; score the document first")
    return decode_scores(payload, f"run {run_id}'s scores of document {doc_id}")


def scored_document_ids(session: Session, run_id: int) -> list[int]:
    """Documents a run has scores for."""
    return list(session.scalars(select(m.PairScoreBlobRow.document_id).where(m.PairScoreBlobRow.run_id == run_id)
                                .order_by(m.PairScoreBlobRow.document_id)))


def add_run_seconds(session: Session, run_id: int, seconds: float) -> None:
    """Count more scoring time on a run that a job fills document by document."""
    row = session.get(m.ModelRunRow, run_id)
    if row is None:
        raise NotFoundError(f"no model run with id {run_id}; record_run() first")
    row.seconds = float(row.seconds) + max(float(seconds), 0.0)
    session.flush()
