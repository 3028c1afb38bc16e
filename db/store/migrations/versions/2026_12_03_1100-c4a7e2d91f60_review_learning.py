"""Review learning: per-dataset review settings (re-rank every N decisions, stopping threshold) and the log of
ranker refits on a dataset's decisions (issue 14, points 4 and 5).

Revision ID: c4a7e2d91f60
Revises: b5e19c07d3a4
Create Date: 2026-12-03 11:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4a7e2d91f60"
down_revision: str | None = "b5e19c07d3a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_settings",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("refit_every", sa.Integer(), nullable=False),
        sa.Column("stop_below", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.CheckConstraint("refit_every >= 1", name="ck_review_settings_refit_every"),
        sa.CheckConstraint("stop_below >= 0", name="ck_review_settings_stop_below"),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name="fk_review_settings_dataset_id_datasets",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("dataset_id", name="pk_review_settings"),
    )
    op.create_table(
        "ranker_refits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rescored", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name="fk_ranker_refits_dataset_id_datasets",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_ranker_refits"),
    )
    op.create_index("ix_ranker_refits_dataset_id_id", "ranker_refits", ["dataset_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_ranker_refits_dataset_id_id", table_name="ranker_refits")
    op.drop_table("ranker_refits")
    op.drop_table("review_settings")
