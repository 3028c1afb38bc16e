"""Scoring jobs keep how many suggestions they stored, so the Upload page reads the whole outcome from the job's
row (one job mechanism: no in-memory copy of the job in the app). NULL for jobs finished before.

Revision ID: f2b8d5c3a917
Revises: f2b8c6d4a1e3
Create Date: 2026-12-07 09:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f2b8d5c3a917"
down_revision: str | None = "f2b8c6d4a1e3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scoring_jobs") as batch:
        batch.add_column(sa.Column("suggestions", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scoring_jobs") as batch:
        batch.drop_column("suggestions")
