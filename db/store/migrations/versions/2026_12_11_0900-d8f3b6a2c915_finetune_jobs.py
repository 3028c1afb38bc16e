"""Fine-tuning from reviewed labels runs as a job of the one job mechanism (db.store.queries.jobs): a job row
says what it does (`kind`: score or finetune) and carries what a fine-tune needs and reports (`details`: epochs,
the new model's path, the epoch in progress, the lineage). Existing rows are scoring jobs.

Revision ID: d8f3b6a2c915
Revises: b3f8e1c5d2a6
Create Date: 2026-12-10 09:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "d8f3b6a2c915"
down_revision: str | None = "b3f8e1c5d2a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("scoring_jobs") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="score"))
        batch.add_column(sa.Column("details", JSON, nullable=True))
        batch.create_check_constraint("kind", "kind IN ('score', 'finetune')")


def downgrade() -> None:
    with op.batch_alter_table("scoring_jobs") as batch:
        batch.drop_constraint(op.f("ck_scoring_jobs_kind"), type_="check")
        batch.drop_column("details")
        batch.drop_column("kind")
