"""A dataset's review queue hides entity pairs whose best calibrated probability is below a minimum (the long
tail, still openable and still counted in the expected yields). NULL keeps the default the Revisit yield
curve chose (db.store.domain.DEFAULT_MIN_PROBABILITY, bench/queue_threshold.py).

Revision ID: a4d9c2e7b1f3
Revises: a7e5c2d9b431
Create Date: 2026-12-08 09:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a4d9c2e7b1f3"
down_revision: str | None = "a7e5c2d9b431"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_settings") as batch:
        batch.add_column(sa.Column("min_probability", sa.Float(), nullable=True))
        batch.create_check_constraint(
            "min_probability", "min_probability IS NULL OR (min_probability >= 0 AND min_probability <= 1)")


def downgrade() -> None:
    with op.batch_alter_table("review_settings") as batch:
        batch.drop_constraint(op.f("ck_review_settings_min_probability"), type_="check")
        batch.drop_column("min_probability")
