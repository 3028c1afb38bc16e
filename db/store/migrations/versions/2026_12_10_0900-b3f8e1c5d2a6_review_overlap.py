"""Overlap: a dataset's review setting sends each item to k annotators when a curator splits the queue (NULL
keeps the default, 1), so an assignment is unique per (suggestion, annotator) instead of per suggestion.

Revision ID: b3f8e1c5d2a6
Revises: a4d9c2e7b1f3
Create Date: 2026-12-10 09:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b3f8e1c5d2a6"
down_revision: str | None = "a4d9c2e7b1f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_settings") as batch:
        batch.add_column(sa.Column("overlap", sa.Integer(), nullable=True))
        batch.create_check_constraint("overlap", "overlap IS NULL OR overlap >= 1")
    with op.batch_alter_table("assignments") as batch:
        batch.drop_constraint("uq_assignments_suggestion_id", type_="unique")
        batch.create_unique_constraint("uq_assignments_suggestion_id_annotator_id", ["suggestion_id", "annotator_id"])


def downgrade() -> None:
    # one annotator per suggestion again: keep each suggestion's first assignment
    op.execute("DELETE FROM assignments WHERE id NOT IN (SELECT MIN(id) FROM assignments GROUP BY suggestion_id)")
    with op.batch_alter_table("assignments") as batch:
        batch.drop_constraint("uq_assignments_suggestion_id_annotator_id", type_="unique")
        batch.create_unique_constraint("uq_assignments_suggestion_id", ["suggestion_id"])
    with op.batch_alter_table("review_settings") as batch:
        batch.drop_constraint(op.f("ck_review_settings_overlap"), type_="check")
        batch.drop_column("overlap")
