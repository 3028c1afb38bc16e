"""One run per model and dataset: merge the runs a database from before keeps of one (dataset, checkpoint, method,
engine version). Each upload batch used to record a run of its own, so Evaluate listed 8 runs for 4 models;
scoring now adds to the dataset's run of a model (db.store.queries.runs.run_of_model), and this merges the rest.

Per group the newest run (highest id) is kept. Each older run, newest first, hands it the pair scores and
suggestion sources of documents and suggestions the kept run lacks (newer scores win; the others are deleted),
its seconds (summed) and its creation time (the earliest is kept); jobs' `run_ids` name the kept run instead
(in place: the list is positional, one entry per checkpoint of the job, so an entry is never dropped). Model
labels inside stored support ("method#run id" in a source's evidence) are left as written: they name the votes
of the scoring that wrote them, and the next ranking rewrites them.

Plain SQL over sa.table, so the migration does not change when the models do.

Revision ID: 31d7dee0a0b6
Revises: d8f3b6a2c915
Create Date: 2026-12-12 09:00:00
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "31d7dee0a0b6"
down_revision: str | None = "d8f3b6a2c915"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")

RUNS = sa.table("model_runs", sa.column("id", sa.Integer), sa.column("dataset_id", sa.Integer),
                sa.column("checkpoint", sa.Text), sa.column("method", sa.String), sa.column("version", sa.String),
                sa.column("seconds", sa.Float), sa.column("created_at", sa.DateTime(timezone=True)))
SCORES = sa.table("pair_scores", sa.column("run_id", sa.Integer), sa.column("document_id", sa.Integer))
SOURCES = sa.table("suggestion_sources", sa.column("run_id", sa.Integer), sa.column("suggestion_id", sa.Integer))
JOBS = sa.table("scoring_jobs", sa.column("id", sa.Integer), sa.column("run_ids", JSON))


def _move_missing(conn: sa.Connection, table: sa.TableClause, key: str, old: int, kept: int) -> None:
    """Re-point the old run's rows whose `key` (document, suggestion) the kept run lacks; delete the rest."""
    held = sa.select(table.c[key]).where(table.c.run_id == kept)
    conn.execute(sa.update(table).where(table.c.run_id == old, table.c[key].not_in(held)).values(run_id=kept))
    conn.execute(sa.delete(table).where(table.c.run_id == old))


def _groups(conn: sa.Connection) -> list[list[Any]]:
    """The runs of each model and dataset that has several, newest first."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for row in conn.execute(sa.select(RUNS).order_by(RUNS.c.id.desc())):
        groups.setdefault((row.dataset_id, row.checkpoint, row.method, row.version), []).append(row)
    return [runs for runs in groups.values() if len(runs) > 1]


def _repoint_jobs(conn: sa.Connection, kept_of: dict[int, int]) -> None:
    for job_id, run_ids in conn.execute(sa.select(JOBS.c.id, JOBS.c.run_ids)).tuples().all():
        new = [kept_of.get(int(r), int(r)) for r in run_ids or ()]
        if new != list(run_ids or ()):
            conn.execute(sa.update(JOBS).where(JOBS.c.id == job_id).values(run_ids=new))


def upgrade() -> None:
    conn = op.get_bind()
    kept_of: dict[int, int] = {}
    for kept, *older in _groups(conn):
        for old in older:
            _move_missing(conn, SCORES, "document_id", old.id, kept.id)
            _move_missing(conn, SOURCES, "suggestion_id", old.id, kept.id)
            kept_of[old.id] = kept.id
        conn.execute(sa.update(RUNS).where(RUNS.c.id == kept.id).values(
            seconds=sum(float(r.seconds) for r in (kept, *older)),
            created_at=min(r.created_at for r in (kept, *older))))
        conn.execute(sa.delete(RUNS).where(RUNS.c.id.in_([r.id for r in older])))
    if kept_of:
        _repoint_jobs(conn, kept_of)


def downgrade() -> None:
    """Nothing to undo: the merged runs are gone, and which scores and sources each held (the ones a newer run
    replaced were deleted) is not recorded anywhere, so they cannot be split again. One run per model is also a
    valid state of the older schema, whose code reads it as it is."""
