"""Scoring jobs: the app's and workers' scoring requests, recorded so they survive restarts and dead workers.

Revision ID: b5e19c07d3a4
Revises: e7c3a1f05b92
Create Date: 2026-12-02 21:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "b5e19c07d3a4"
down_revision: str | None = "e7c3a1f05b92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scoring_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("document_ids", JSON, nullable=False),
        sa.Column("checkpoints", JSON, nullable=False),
        sa.Column("run_ids", JSON, nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("worker_id", sa.String(100), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("started_at", WHEN, nullable=True),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.Column("heartbeat_at", WHEN, nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="ck_scoring_jobs_status"),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name="fk_scoring_jobs_dataset_id_datasets",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_scoring_jobs"),
    )
    op.create_index("ix_scoring_jobs_status_id", "scoring_jobs", ["status", "id"])
    op.create_index("ix_scoring_jobs_dataset_id", "scoring_jobs", ["dataset_id"])


def downgrade() -> None:
    op.drop_index("ix_scoring_jobs_dataset_id", table_name="scoring_jobs")
    op.drop_index("ix_scoring_jobs_status_id", table_name="scoring_jobs")
    op.drop_table("scoring_jobs")
