"""Assignments: a curator splits a dataset's review queue between annotators, one annotator per suggestion.

Revision ID: e7c3a1f05b92
Revises: d41b7e29c6a5
Create Date: 2026-12-02 18:10:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e7c3a1f05b92"
down_revision: str | None = "d41b7e29c6a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suggestion_id", sa.Integer(), nullable=False),
        sa.Column("annotator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["suggestion_id"], ["suggestions.id"], name="fk_assignments_suggestion_id_suggestions",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["annotator_id"], ["annotators.id"], name="fk_assignments_annotator_id_annotators",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_assignments"),
        sa.UniqueConstraint("suggestion_id", name="uq_assignments_suggestion_id"),
    )
    op.create_index("ix_assignments_annotator_id", "assignments", ["annotator_id"])


def downgrade() -> None:
    op.drop_index("ix_assignments_annotator_id", table_name="assignments")
    op.drop_table("assignments")
