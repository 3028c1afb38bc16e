"""Control items: a per-dataset rate, documents vouched fully labelled, and which suggestions are controls.

Revision ID: c9d4e6a1f3b8
Revises: c4a7e2d91f60
Create Date: 2026-12-03 11:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c9d4e6a1f3b8"
down_revision: str | None = "c4a7e2d91f60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "control_settings",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.CheckConstraint("rate >= 0 AND rate <= 0.5", name="ck_control_settings_rate"),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name="fk_control_settings_dataset_id_datasets",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("dataset_id", name="pk_control_settings"),
    )
    op.create_table(
        "fully_labelled_documents",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("marked_by", sa.String(100), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"],
                                name="fk_fully_labelled_documents_document_id_documents", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id", name="pk_fully_labelled_documents"),
    )
    op.create_table(
        "control_items",
        sa.Column("suggestion_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.CheckConstraint("kind IN ('gold', 'absent')", name="ck_control_items_kind"),
        sa.ForeignKeyConstraint(["suggestion_id"], ["suggestions.id"],
                                name="fk_control_items_suggestion_id_suggestions",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("suggestion_id", name="pk_control_items"),
    )


def downgrade() -> None:
    op.drop_table("control_items")
    op.drop_table("fully_labelled_documents")
    op.drop_table("control_settings")
